#!/usr/bin/python3
"""tests/rpc/oslo_peer.py: an oslo.messaging peer for the interoperability test.

    oslo_peer.py URL serve TOPIC SERVER SECONDS   serve "echo" and "fail" (raises ValueError)
    oslo_peer.py URL call TOPIC METHOD JSON       call; print the result as JSON
    oslo_peer.py URL cast TOPIC METHOD JSON       cast
Uses the control exchange "tern" as tern does. Exit 0 on success, 1 on a remote error
(printed as "error <class>: <message>").
"""
import json
import sys
import time

from oslo_config import cfg
import oslo_messaging as messaging


class Endpoint(object):
    target = messaging.Target(version='1.0')

    def echo(self, ctxt, **kwargs):
        return {'args': kwargs, 'request_id': ctxt.get('request_id')}

    def fail(self, ctxt, **kwargs):
        raise ValueError('cannot do that to %s' % kwargs.get('uuid'))


def main():
    url, mode, topic = sys.argv[1], sys.argv[2], sys.argv[3]
    conf = cfg.CONF
    conf([], project='tern-interop')
    messaging.set_transport_defaults('tern')
    transport = messaging.get_rpc_transport(conf, url=url)
    if mode == 'serve':
        target = messaging.Target(topic=topic, server=sys.argv[4])
        server = messaging.get_rpc_server(transport, target, [Endpoint()],
                                          executor='threading')
        server.start()
        print('serving', flush=True)
        time.sleep(int(sys.argv[5]))
        server.stop()
        server.wait()
        return 0
    client = messaging.get_rpc_client(transport, messaging.Target(topic=topic), timeout=15)
    ctxt = {'request_id': 'req-from-oslo', 'user_id': 'u1', 'project_id': 'p1'}
    args = json.loads(sys.argv[5])
    try:
        if mode == 'call':
            print(json.dumps(client.call(ctxt, sys.argv[4], **args), sort_keys=True))
        else:
            client.cast(ctxt, sys.argv[4], **args)
    except messaging.MessagingException as e:
        print('error %s: %s' % (type(e).__name__, e))
        return 1
    except Exception as e:  # remote errors arrive as RemoteError or the original class
        print('error %s: %s' % (getattr(e, 'exc_type', type(e).__name__), e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
