/*
 * tests/db/test-db-tls.c: [database] connection with sslmode=verify-full against the harness's
 * PostgreSQL (ssl = on, the server certificate of the harness's CA for localhost and 127.0.0.1).
 *
 * With the CA as sslrootcert, a connection to the certificate's name is made and is encrypted
 * (PQsslInUse), in key=value and in URL form; one to the same server (hostaddr=127.0.0.1) under
 * a name the certificate lacks (host=db.wrong.example, the name libpq verifies) and one with no
 * root certificate are refused, each naming why.
 */
#include <libpq-fe.h>
#include <string.h>

#include "tests/db/test-db.h"

/* conninfo: the harness's database as tern, on host, with extra key=values (new). */
static char *
conninfo(const char *host, const char *extra)
{
    return tern_asprintf("host=%s port=%d user=tern password=%s dbname=tern %s", host,
                         test_svc->postgres_port, test_svc->postgres_password, extra);
}

START_TEST(test_tls_verify_full)
{
    TERN_AUTOFREE char *root =
        tern_asprintf("sslmode=verify-full sslrootcert=%s", test_svc->tls_ca_file);
    TERN_AUTOFREE char *good = conninfo("localhost", root);
    TERN_AUTOFREE char *url =
        tern_asprintf("postgresql://tern:%s@localhost:%d/tern?sslmode=verify-full&sslrootcert=%s",
                      test_svc->postgres_password, test_svc->postgres_port, test_svc->tls_ca_file);
    TERN_AUTOFREE char *other = tern_asprintf("hostaddr=127.0.0.1 %s", root);
    TERN_AUTOFREE char *wrong_name = conninfo("db.wrong.example", other);
    TERN_AUTOFREE char *no_root =
        conninfo("localhost", "sslmode=verify-full sslrootcert=/nonexistent/root.crt");
    db_conn_t *conn;
    PGconn *raw;

    conn = db_open(good);
    ck_assert_msg(conn != NULL, "verify-full to localhost: %s", tern_error_message());
    db_close(conn);
    raw = PQconnectdb(good); /* the same string: the link is encrypted */
    ck_assert_int_eq(PQstatus(raw), CONNECTION_OK);
    ck_assert_int_eq(PQsslInUse(raw), 1);
    PQfinish(raw);
    conn = db_open(url);
    ck_assert_msg(conn != NULL, "verify-full in a URL: %s", tern_error_message());
    db_close(conn);

    ck_assert_ptr_null(db_open(wrong_name));
    ck_assert_msg(strstr(tern_error_message(), "does not match host name"), "%s",
                  tern_error_message());
    ck_assert_msg(!strstr(tern_error_message(), test_svc->postgres_password), "password shown");
    ck_assert_ptr_null(db_open(no_root));
    ck_assert_msg(strstr(tern_error_message(), "root certificate file"), "%s",
                  tern_error_message());
}
END_TEST

TCase *
test_db_case_tls(void)
{
    TCase *tc = tcase_create("tls");

    tcase_add_test(tc, test_tls_verify_full);
    return tc;
}
