/*
 * tests/db/test-db-devices.c: volume attachments, virtual interfaces, security group rules and
 * the instance action log.
 */
#include <string.h>

#include "tests/db/test-db.h"

START_TEST(test_volume_attachments)
{
    db_conn_t *conn = test_open();
    json_t *ci =
        json_pack("{s:s, s:{s:s, s:i, s:s}}", "driver_volume_type", "iscsi", "data", "target_iqn",
                  "iqn.2010-10.org:vol'1\"", "target_lun", 1, "auth_password", "p\\w");
    json_t *ci2 = json_pack("{s:s}", "driver_volume_type", "rbd");
    db_volume_attachment_t a = {0}, got = {0}, *list = NULL;
    size_t n = 0;
    char inst[DB_UUID_LEN], ghost[DB_UUID_LEN];

    test_make_instance(conn, "h", "n", inst);
    tern_strlcpy(a.instance_uuid, inst, sizeof(a.instance_uuid));
    a.volume_id = (char *)"vol-1";
    a.device_name = (char *)"vdb";
    a.connection_info = ci;
    CK_OK(db_volume_attachment_add(conn, &a, &got));
    ck_assert_int_gt(got.id, 0);
    ck_assert(json_equal(got.connection_info, ci));
    db_volume_attachment_clear(&got);
    CK_FAILS(db_volume_attachment_add(conn, &a, NULL), TERN_ERR_CONFLICT);
    CK_MSG_HAS("vol-1");
    a.volume_id = (char *)"vol-2";
    a.device_name = (char *)"vdc";
    a.connection_info = NULL;
    CK_OK(db_volume_attachment_add(conn, &a, NULL));

    CK_OK(db_volume_attachment_set_connection_info(conn, inst, "vol-2", ci2));
    CK_OK(db_volume_attachment_list(conn, inst, &list, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].volume_id, "vol-1");
    ck_assert_str_eq(list[0].device_name, "vdb");
    ck_assert(json_equal(list[0].connection_info, ci));
    ck_assert_str_eq(list[1].volume_id, "vol-2");
    ck_assert(json_equal(list[1].connection_info, ci2));
    db_volume_attachment_list_free(list, n);

    CK_OK(db_volume_attachment_delete(conn, inst, "vol-1"));
    CK_FAILS(db_volume_attachment_delete(conn, inst, "vol-1"), TERN_ERR_NOT_FOUND);
    CK_MSG_HAS("vol-1");
    CK_FAILS(db_volume_attachment_set_connection_info(conn, inst, "vol-1", ci), TERN_ERR_NOT_FOUND);
    CK_OK(db_volume_attachment_list(conn, inst, &list, &n));
    ck_assert_uint_eq(n, 1);
    db_volume_attachment_list_free(list, n);

    tern_uuid_generate(ghost);
    tern_strlcpy(a.instance_uuid, ghost, sizeof(a.instance_uuid));
    CK_FAILS(db_volume_attachment_add(conn, &a, NULL), TERN_ERR_NOT_FOUND);
    tern_strlcpy(a.instance_uuid, inst, sizeof(a.instance_uuid));
    a.connection_info = json_array();
    CK_FAILS(db_volume_attachment_add(conn, &a, NULL), TERN_ERR_INVALID);
    json_decref(a.connection_info);
    json_decref(ci);
    json_decref(ci2);
    db_close(conn);
}
END_TEST

START_TEST(test_virtual_interfaces)
{
    db_conn_t *conn = test_open();
    char *ips[] = {(char *)"10.0.0.5", (char *)"fd00::5"};
    db_vif_t v = {0}, got = {0}, *list = NULL;
    size_t n = 0;
    char inst[DB_UUID_LEN], mac[18];
    unsigned char r[4];

    /* A MAC unique to this run. */
    tern_uuid_generate((char *)inst);
    for (int i = 0; i < 4; i++)
        r[i] = (unsigned char)strtol((char[3]){inst[2 * i], inst[2 * i + 1], 0}, NULL, 16);
    snprintf(mac, sizeof(mac), "fa:16:%02x:%02x:%02x:%02x", r[0], r[1], r[2], r[3]);

    test_make_instance(conn, "h", "n", inst);
    tern_strlcpy(v.instance_uuid, inst, sizeof(v.instance_uuid));
    v.address = mac;
    v.network_name = (char *)"private";
    v.bridge = (char *)"br-tern";
    v.vif_model = (char *)"virtio";
    v.devname = (char *)"tap0";
    v.ip_addresses = ips;
    v.n_ip_addresses = 2;
    CK_OK(db_vif_add(conn, &v, &got));
    ck_assert_str_eq(got.address, mac);
    ck_assert_uint_eq(got.n_ip_addresses, 2);
    db_vif_clear(&got);
    CK_FAILS(db_vif_add(conn, &v, NULL), TERN_ERR_CONFLICT); /* MAC taken */
    CK_MSG_HAS(mac);

    CK_OK(db_vif_list(conn, inst, &list, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(list[0].network_name, "private");
    ck_assert_str_eq(list[0].bridge, "br-tern");
    ck_assert_str_eq(list[0].vif_model, "virtio");
    ck_assert_str_eq(list[0].devname, "tap0");
    ck_assert_uint_eq(list[0].n_ip_addresses, 2);
    ck_assert_str_eq(list[0].ip_addresses[0], "10.0.0.5");
    ck_assert_str_eq(list[0].ip_addresses[1], "fd00::5");
    db_vif_list_free(list, n);

    CK_OK(db_vif_delete(conn, inst, mac));
    CK_FAILS(db_vif_delete(conn, inst, mac), TERN_ERR_NOT_FOUND);
    CK_OK(db_vif_list(conn, inst, &list, &n));
    ck_assert_uint_eq(n, 0);
    db_vif_list_free(list, n);
    db_close(conn);
}
END_TEST

START_TEST(test_security_group_rules)
{
    db_conn_t *conn = test_open();
    db_secgroup_rule_t r = {0}, got = {0}, *list = NULL;
    size_t n = 0;
    char inst[DB_UUID_LEN];
    int64_t ssh_id;

    test_make_instance(conn, "h", "n", inst);
    tern_strlcpy(r.instance_uuid, inst, sizeof(r.instance_uuid));
    r.group_name = (char *)"default";
    r.direction = (char *)"ingress";
    r.protocol = (char *)"tcp";
    r.port_range_min = 22;
    r.port_range_max = 22;
    r.remote_ip_prefix = (char *)"198.18.0.0/24";
    CK_OK(db_secgroup_rule_add(conn, &r, &got));
    ssh_id = got.id;
    ck_assert_str_eq(got.ethertype, "IPv4");
    db_secgroup_rule_clear(&got);

    r.protocol = (char *)"icmp";
    r.port_range_min = -1;
    r.port_range_max = -1;
    r.remote_ip_prefix = NULL;
    r.ethertype = (char *)"IPv6";
    CK_OK(db_secgroup_rule_add(conn, &r, NULL));

    r.direction = (char *)"sideways";
    CK_FAILS(db_secgroup_rule_add(conn, &r, NULL), TERN_ERR_INVALID);
    r.direction = (char *)"egress";
    r.protocol = (char *)"tcp";
    r.port_range_min = 80;
    r.port_range_max = 79;
    CK_FAILS(db_secgroup_rule_add(conn, &r, NULL), TERN_ERR_INVALID);

    CK_OK(db_secgroup_rule_list(conn, inst, &list, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].protocol, "tcp");
    ck_assert_int_eq(list[0].port_range_min, 22);
    ck_assert_int_eq(list[0].port_range_max, 22);
    ck_assert_str_eq(list[0].remote_ip_prefix, "198.18.0.0/24");
    ck_assert_str_eq(list[1].protocol, "icmp");
    ck_assert_str_eq(list[1].ethertype, "IPv6");
    ck_assert_int_eq(list[1].port_range_min, -1);
    ck_assert_ptr_null(list[1].remote_ip_prefix);
    db_secgroup_rule_list_free(list, n);

    CK_OK(db_secgroup_rule_delete(conn, inst, ssh_id));
    CK_FAILS(db_secgroup_rule_delete(conn, inst, ssh_id), TERN_ERR_NOT_FOUND);
    CK_OK(db_secgroup_rule_delete(conn, inst, -1));
    CK_OK(db_secgroup_rule_list(conn, inst, &list, &n));
    ck_assert_uint_eq(n, 0);
    db_secgroup_rule_list_free(list, n);
    db_close(conn);
}
END_TEST

START_TEST(test_instance_actions)
{
    db_conn_t *conn = test_open();
    db_action_t *list = NULL;
    size_t n = 0;
    char inst[DB_UUID_LEN], ghost[DB_UUID_LEN];
    int64_t a1, a2;

    test_make_instance(conn, "h", "n", inst);
    CK_OK(db_action_start(conn, "req-1", inst, "live-migration", "alice", "proj", &a1));
    CK_OK(db_action_start(conn, "req-2", inst, "live-migration", NULL, NULL, &a2));
    CK_OK(db_action_finish(conn, a1, true, NULL));
    CK_OK(db_action_finish(conn, a1, true, NULL)); /* idempotent */
    CK_FAILS(db_action_finish(conn, a1, false, "late"), TERN_ERR_CONFLICT);
    CK_MSG_HAS("\"success\"");
    CK_OK(db_action_finish(conn, a2, false, "destination \"h2\" has no room"));
    CK_FAILS(db_action_finish(conn, -3, true, NULL), TERN_ERR_NOT_FOUND);

    CK_OK(db_action_list(conn, inst, &list, &n));
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].request_id, "req-1");
    ck_assert_str_eq(list[0].action, "live-migration");
    ck_assert_str_eq(list[0].user_id, "alice");
    ck_assert_str_eq(list[0].project_id, "proj");
    ck_assert_str_eq(list[0].result, "success");
    ck_assert_int_gt(list[0].start_ms, 0);
    ck_assert_int_ge(list[0].finish_ms, list[0].start_ms);
    ck_assert_ptr_null(list[1].user_id);
    ck_assert_str_eq(list[1].result, "error");
    ck_assert_str_eq(list[1].message, "destination \"h2\" has no room");
    db_action_list_free(list, n);

    tern_uuid_generate(ghost);
    CK_FAILS(db_action_start(conn, "req-3", ghost, "x", NULL, NULL, NULL), TERN_ERR_NOT_FOUND);
    db_close(conn);
}
END_TEST

TCase *
test_db_case_devices(void)
{
    TCase *tc = tcase_create("devices");

    tcase_add_test(tc, test_volume_attachments);
    tcase_add_test(tc, test_virtual_interfaces);
    tcase_add_test(tc, test_security_group_rules);
    tcase_add_test(tc, test_instance_actions);
    return tc;
}
