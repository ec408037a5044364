#!/usr/bin/env python3
"""A lossy, delayed link in user space (this kernel has no netem).

Bridges two network interfaces at the Ethernet level: every frame read on one is written to the other
after a delay, or dropped with a probability (ARP is never dropped, so that the link comes up). Node has
no raw sockets, hence Python; the chaos suite's lossy-link scenario starts this inside a namespace that
holds the two interfaces.

  lossy-link.py <if1> <if2> <loss 0..1> <delay ms> <jitter ms> <seed>
Prints "ready" once both sockets are bound; on SIGTERM prints "forwarded N dropped M" and exits.
"""
import heapq
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def without_udp_checksum(frame):
    """The sender's kernel leaves UDP checksums to the network card (veth offload), so frames read here
    carry a partial one that the receiver would reject. IPv4 allows none (0): say so."""
    if frame[12:14] != b'\x08\x00' or len(frame) < 34 or frame[23] != 17:
        return frame
    if (int.from_bytes(frame[20:22], 'big') & 0x1FFF) != 0:
        return frame  # a later fragment: no UDP header in it
    at = 14 + (frame[14] & 0x0F) * 4 + 6
    return frame[:at] + b'\x00\x00' + frame[at + 2:]


def main():
    if1, if2, loss, delay, jitter, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    rnd = random.Random(seed)
    socks = {}
    for name in (if1, if2):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        socks[name] = s
    other = {socks[if1]: socks[if2], socks[if2]: socks[if1]}
    queue = []  # (due, seq, socket, frame)
    seq = 0
    stats = {'forwarded': 0, 'dropped': 0}
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    print('ready', flush=True)
    while running[0]:
        timeout = 0.05 if not queue else max(0.0, min(0.05, queue[0][0] - time.monotonic()))
        try:
            readable, _, _ = select.select(list(other), [], [], timeout)
        except InterruptedError:
            continue
        for s in readable:
            while True:
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # what we wrote ourselves
                ethertype = frame[12:14]
                if ethertype != b'\x08\x06' and rnd.random() < loss:
                    stats['dropped'] += 1
                    continue
                frame = without_udp_checksum(frame)
                due = time.monotonic() + max(0.0, delay + rnd.uniform(-jitter, jitter)) / 1000
                seq += 1
                heapq.heappush(queue, (due, seq, other[s], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
                stats['forwarded'] += 1
            except OSError:
                stats['dropped'] += 1  # a frame larger than the link takes: lost, as on a real link
    print('forwarded %d dropped %d' % (stats['forwarded'], stats['dropped']), flush=True)


main()
