# tools/testbed/lib/tls.sh: the TLS testbed (`testbed up --tls`) - a throwaway CA and the
# certificates libvirtd and QEMU use between the hosts. Sourced by tools/testbed/testbed.
#
# The CA (TB_DIR/pki/ca.pem, made by every `up --tls`, EC P-256, 30 days) signs one server
# certificate for every host's address and name (198.18.0.11..14, host1..4) and one client
# certificate; each host gets them in hosts/hostI/pki, bind-mounted over /etc/pki in its mount
# namespace, where libvirtd looks (CA/cacert.pem, libvirt/servercert.pem,
# libvirt/private/serverkey.pem, and as the client of a peer-to-peer migration
# libvirt/clientcert.pem, libvirt/private/clientkey.pem) and where qemu.conf points QEMU's
# native TLS (qemu/ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem,
# client-key.pem). RabbitMQ and PostgreSQL use the test harness's own CA
# (services/rabbitmq/tls/ca.pem): the daemons verify the broker (ssl_ca_file) and the database
# (sslmode=verify-full) against it. libvirtd then listens for TLS only (listen_tcp = 0), RabbitMQ
# takes no plain AMQP on 198.18.0.1 (tern-test-services --tls-only) and PostgreSQL takes only
# TLS there (hostssl).

# shellcheck shell=bash

TB_PKI=$TB_DIR/pki

# tb_openssl ARGS...: openssl, its output in the log.
tb_openssl() {
    openssl "$@" >>"$TB_LOG_DIR/tls.log" 2>&1 || tb_die "openssl $1 failed (see $TB_LOG_DIR/tls.log)"
}

# tb_tls_cert NAME SUBJECT EXTENSIONS: NAME.key and NAME.pem signed by the CA.
tb_tls_cert() {
    local name=$1 subj=$2 ext=$3
    printf '%b' "$ext" >"$TB_PKI/$name.ext"
    tb_openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TB_PKI/$name.key" -out "$TB_PKI/$name.csr" -subj "$subj"
    tb_openssl x509 -req -in "$TB_PKI/$name.csr" -CA "$TB_PKI/ca.pem" -CAkey "$TB_PKI/ca.key" \
        -CAcreateserial -CAserial "$TB_PKI/ca.srl" -out "$TB_PKI/$name.pem" -days 30 \
        -extfile "$TB_PKI/$name.ext"
}

# tb_tls_certs: the CA, the hosts' server certificate and the client certificate.
tb_tls_certs() {
    local i san=""
    rm -rf "$TB_PKI"
    mkdir -p "$TB_PKI"
    chmod 700 "$TB_PKI"
    for i in $(seq 1 "$TB_MAX_HOSTS"); do
        san="$san${san:+, }IP:$(tb_host_ip "$i"), DNS:host$i"
    done
    tb_openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$TB_PKI/ca.key" -out "$TB_PKI/ca.pem" -days 30 -subj "/CN=tern-testbed-ca"
    tb_tls_cert server "/O=tern testbed/CN=tern-testbed-host" \
        "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = $san\n"
    tb_tls_cert client "/O=tern testbed/CN=tern-testbed-client" \
        "basicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = clientAuth\n"
}

# tb_tls_host_pki I: host I's /etc/pki (hosts/hostI/pki) from the testbed's certificates.
tb_tls_host_pki() {
    local p
    p=$(tb_host_dir "$1")/pki
    # in place: a running keeper has this directory bind-mounted
    mkdir -p "$p/CA" "$p/libvirt/private" "$p/qemu"
    cp "$TB_PKI/ca.pem" "$p/CA/cacert.pem"
    cp "$TB_PKI/server.pem" "$p/libvirt/servercert.pem"
    cp "$TB_PKI/server.key" "$p/libvirt/private/serverkey.pem"
    cp "$TB_PKI/client.pem" "$p/libvirt/clientcert.pem"
    cp "$TB_PKI/client.key" "$p/libvirt/private/clientkey.pem"
    cp "$TB_PKI/ca.pem" "$p/qemu/ca-cert.pem"
    cp "$TB_PKI/server.pem" "$p/qemu/server-cert.pem"
    cp "$TB_PKI/server.key" "$p/qemu/server-key.pem"
    cp "$TB_PKI/client.pem" "$p/qemu/client-cert.pem"
    cp "$TB_PKI/client.key" "$p/qemu/client-key.pem"
    chmod 600 "$p"/libvirt/private/* "$p"/qemu/*-key.pem
}

# tb_tls_ca: the CA file of the harness's RabbitMQ and PostgreSQL certificates.
tb_tls_ca() { echo "$TB_SERVICES/rabbitmq/tls/ca.pem"; }
