#!/usr/bin/env bash
# Regenerates the small real captures in this folder (run as root). See ../SOURCE.md.
# Traffic: ping, UDP datagrams and one TCP exchange between two network namespaces joined by a veth
# pair (10.77.91.1 <-> 10.77.91.2), plus the same on loopback inside the first namespace.
set -euo pipefail
[ -n "${TRACE:-}" ] && set -x
cd "$(dirname "$0")"
a="qlt-io-fxa-$$"; b="qlt-io-fxb-$$"; tmp="$(mktemp -d)"
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip netns exec "$a" ip link set lo up; ip netns exec "$b" ip link set lo up
ip link add qfxa$$ netns "$a" type veth peer name qfxb$$ netns "$b"
ip netns exec "$a" ip addr add 10.77.91.1/24 dev qfxa$$; ip netns exec "$a" ip link set qfxa$$ up
ip netns exec "$b" ip addr add 10.77.91.2/24 dev qfxb$$; ip netns exec "$b" ip link set qfxb$$ up
ip netns exec "$a" ip -6 addr add fd00:77:91::1/64 dev qfxa$$ nodad
ip netns exec "$b" ip -6 addr add fd00:77:91::2/64 dev qfxb$$ nodad
pids=()
ip netns exec "$a" tcpdump -q -i lo -U --immediate-mode -w "$tmp/lo-us.pcap" 2>/dev/null & pids+=($!)
ip netns exec "$a" tcpdump -q -i lo -U --immediate-mode --time-stamp-precision=nano -w "$tmp/lo-ns.pcap" 2>/dev/null & pids+=($!)
ip netns exec "$a" dumpcap -q -i lo -w "$tmp/lo.pcapng" 2>/dev/null & pids+=($!)
ip netns exec "$a" tcpdump -q -i qfxa$$ -U --immediate-mode -w "$tmp/veth-eth.pcap" 2>/dev/null & pids+=($!)
ip netns exec "$a" tcpdump -q -i any -U --immediate-mode -w "$tmp/any-sll2.pcap" 2>/dev/null & pids+=($!)
sleep 1.5
traffic() { # $1 = address of the peer, $2 = namespace of the peer
  ip netns exec "$2" timeout 10 python3 -c '
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 7791)); s.listen(1)
c,_=s.accept(); d=c.recv(100); c.sendall(d.upper()); c.close()' "$1" &
  local server=$!
  sleep 0.5
  ip netns exec "$a" ping -c 2 -i 0.2 -q "$1" >/dev/null
  ip netns exec "$a" timeout 10 python3 -c '
import socket,sys
u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3): u.sendto(b"qoelab udp %d" % i, (sys.argv[1], 7792))
t=socket.create_connection((sys.argv[1], 7791)); t.sendall(b"hello qoelab"); t.recv(100); t.close()' "$1"
  wait "$server"
}
traffic 127.0.0.1 "$a"
traffic 10.77.91.2 "$b"
ip netns exec "$a" ping -6 -c 2 -i 0.2 -q fd00:77:91::2 >/dev/null
sleep 1
kill -INT "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
cp "$tmp/lo-us.pcap" "$tmp/lo-ns.pcap" "$tmp/veth-eth.pcap" "$tmp/any-sll2.pcap" .
# dumpcap writes pcapng with SHB options, an IDB with options and an ISB at the end.
cp "$tmp/lo.pcapng" lo-dumpcap.pcapng
# A packet comment (EPB option) and a capture comment, added by editcap.
editcap -a "1:first packet comment" --capture-comment "qoelab fixture" lo-dumpcap.pcapng lo-comments.pcapng
# Two interfaces with different link types (Ethernet + Linux SLL2), ns timestamps on one of them.
mergecap -F pcapng -w multi-if.pcapng veth-eth.pcap lo-ns.pcap any-sll2.pcap
ls -l ./*.pcap ./*.pcapng
