/**
 * Headless peers in network namespaces that this test creates: a "LAN" (veth pairs on a bridge, no
 * route to anything else). Two peers with no DHT bootstrap reachable find each other by multicast DNS
 * and sync a folder; two peers whose UDP between each other is dropped by a firewall rule sync through
 * a blind relay started with `hyperpair relay`, whose traffic never shows a marker in plaintext.
 * Needs root, iproute2 with netns support, iptables and tcpdump; without them it skips and says why
 * (connectivity-lan and connectivity-relay cover the same code paths on loopback).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { netnsUnavailable, run } from '../helpers/netns';
import { waitFor } from '../helpers/testnet';
import { readTree, sampleTree, tempDir, writeTree } from '../helpers/tree';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.resolve(__dirname, '../../src/cli/main.js');
const ID = `hp${process.pid % 100000}`;
const HUB = `${ID}-hub`;
const SUBNET = '10.77.0';
const PEERS = { a: `${SUBNET}.1`, b: `${SUBNET}.2`, r: `${SUBNET}.3` } as const;
type Peer = keyof typeof PEERS;
const ns = (p: Peer) => `${ID}-${p}`;

let skip: string | undefined;
const children: ChildProcessWithoutNullStreams[] = [];

function whyNot(): string | undefined {
  return netnsUnavailable(`${ID}-probe`, ['ip', 'iptables', 'tcpdump'], 'apt-get install iproute2 iptables tcpdump');
}

/** The LAN: one bridge in a hub namespace, one namespace per peer with a veth to it, nothing else. */
function createLan(): void {
  run('ip', ['netns', 'add', HUB]);
  run('ip', ['-n', HUB, 'link', 'add', 'br0', 'type', 'bridge']);
  run('ip', ['-n', HUB, 'link', 'set', 'br0', 'up']);
  for (const [p, addr] of Object.entries(PEERS) as Array<[Peer, string]>) {
    run('ip', ['netns', 'add', ns(p)]);
    run('ip', ['link', 'add', `${ID}${p}0`, 'type', 'veth', 'peer', 'name', `${ID}${p}1`]);
    run('ip', ['link', 'set', `${ID}${p}0`, 'netns', ns(p)]);
    run('ip', ['link', 'set', `${ID}${p}1`, 'netns', HUB]);
    run('ip', ['-n', ns(p), 'link', 'set', `${ID}${p}0`, 'name', 'eth0']);
    run('ip', ['-n', ns(p), 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
    run('ip', ['-n', ns(p), 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', ns(p), 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', HUB, 'link', 'set', `${ID}${p}1`, 'master', 'br0', 'up']);
  }
}

function destroyLan(): void {
  // Deleting a namespace deletes its veth ends too; each one separately, so that one failure
  // (a namespace never made) does not leave the others behind.
  for (const name of [...(Object.keys(PEERS) as Peer[]).map(ns), HUB]) {
    try {
      run('ip', ['netns', 'del', name]);
    } catch {
      // not created
    }
  }
}

before(() => {
  skip = whyNot();
  if (skip) {
    console.log(`# SKIPPED network-namespace tests: ${skip}`);
    return;
  }
  destroyLan(); // leftovers of an interrupted run with the same pid
  createLan();
});
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (!skip) destroyLan();
});
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (!skip) destroyLan();
});

interface Proc {
  child: ChildProcessWithoutNullStreams;
  events: Array<Record<string, unknown>>;
  lines: string[];
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Runs a command inside a peer's namespace; JSON lines on stdout are parsed into events. */
function inNs(p: Peer, args: string[]): Proc {
  const child = spawn('ip', ['netns', 'exec', ns(p), ...args], { stdio: 'pipe', cwd: ROOT });
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      try {
        events.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not JSON (tcpdump, the testnet script)
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, events, lines, stderr: () => err, exit };
}

const event = (p: Proc, name: string) => p.events.find((e) => e.event === name);

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  await Promise.race([p.exit, new Promise((r) => setTimeout(r, 10_000))]);
}

test('two peers on a LAN with no reachable DHT find each other by mDNS and sync a folder', async (t) => {
  if (skip) return t.skip(skip);
  const src = tempDir();
  writeTree(src, sampleTree());
  // A bootstrap address on the LAN where nobody is: the DHT is out of reach.
  const noDht = ['--bootstrap', `${SUBNET}.250:49737`];
  const sharer = inNs('a', [process.execPath, CLI, 'share', src, '--name', 'A', '--host', PEERS.a, ...noDht, '--json']);
  await waitFor(() => !!event(sharer, 'code'), 'the session code', 30_000);
  const code = event(sharer, 'code')!.code as string;
  const dest = path.join(tempDir(), 'joined');
  const joiner = inNs('b', [process.execPath, CLI, 'join', code, dest, '--name', 'B', '--host', PEERS.b, ...noDht, '--json']);
  try {
    await waitFor(() => !!event(joiner, 'ready'), 'the join over the LAN', 90_000);
    assert.deepEqual(readTree(dest), readTree(src));
    await waitFor(() => sharer.events.some((e) => e.event === 'peer-join' && e.name === 'B'), 'a peer line on the sharer', 10_000);
    const line = sharer.events.find((e) => e.event === 'peer-join' && e.name === 'B')!;
    assert.equal(line.path, 'lan', 'diagnostics name the LAN path');
    // A live edit travels too.
    fs.writeFileSync(path.join(src, 'added-on-the-lan.txt'), 'hello over mDNS + TCP\n');
    await waitFor(() => fs.existsSync(path.join(dest, 'added-on-the-lan.txt')), 'a new file over the LAN', 30_000);
    assert.equal(fs.readFileSync(path.join(dest, 'added-on-the-lan.txt'), 'utf8'), 'hello over mDNS + TCP\n');
  } catch (err) {
    console.log(`# sharer stderr:\n${sharer.stderr()}\n# joiner stderr:\n${joiner.stderr()}`);
    throw err;
  } finally {
    await stop(joiner);
    await stop(sharer);
  }
});

test('two peers whose UDP to each other is dropped sync through `hyperpair relay`, which never sees plaintext', async (t) => {
  if (skip) return t.skip(skip);
  // A private DHT on the relay's machine, reachable from both peers.
  const testnet = inNs('r', [
    process.execPath,
    '-e',
    `require('@hyperswarm/testnet')(3, { host: '${PEERS.r}' }).then((t) => { console.log(t.bootstrap.map((b) => b.host + ':' + b.port).join(',')); process.once('SIGTERM', () => t.destroy().then(() => process.exit(0))); })`,
  ]);
  const pcap = path.join(tempDir(), 'relay.pcap');
  const capture = inNs('r', ['tcpdump', '-i', 'eth0', '-U', '-w', pcap, 'udp']);
  let relay: Proc | undefined;
  let sharer: Proc | undefined;
  let joiner: Proc | undefined;
  try {
    await waitFor(() => testnet.lines.length > 0, 'the private DHT', 30_000);
    const bootstrap = ['--bootstrap', testnet.lines[0]];
    relay = inNs('r', [process.execPath, CLI, 'relay', '--host', PEERS.r, ...bootstrap, '--json']);
    await waitFor(() => !!event(relay!, 'relay'), 'the relay key', 30_000);
    const key = event(relay, 'relay')!.key as string;
    assert.match(key, /^[0-9a-f]{64}$/);

    // The firewall rule: no UDP between A and B, in either direction.
    run('ip', ['netns', 'exec', ns('a'), 'iptables', '-A', 'OUTPUT', '-d', PEERS.b, '-p', 'udp', '-j', 'DROP']);
    run('ip', ['netns', 'exec', ns('a'), 'iptables', '-A', 'INPUT', '-s', PEERS.b, '-p', 'udp', '-j', 'DROP']);

    const marker = `RELAY-MUST-NOT-SEE-THIS-${Date.now().toString(36)}`;
    const src = tempDir();
    writeTree(src, { 'secret.txt': `${marker}\n`.repeat(50), 'dir/readme.md': '# relayed\n' });
    const peerArgs = ['--relay', key, '--relay-only', '--no-lan', ...bootstrap, '--json'];
    sharer = inNs('a', [process.execPath, CLI, 'share', src, '--name', 'A', '--host', PEERS.a, ...peerArgs]);
    await waitFor(() => !!event(sharer!, 'code'), 'the session code', 30_000);
    const code = event(sharer, 'code')!.code as string;
    const dest = path.join(tempDir(), 'joined');
    joiner = inNs('b', [process.execPath, CLI, 'join', code, dest, '--name', 'B', '--host', PEERS.b, ...peerArgs]);
    await waitFor(() => !!event(joiner!, 'ready'), 'the join through the relay', 120_000);
    assert.deepEqual(readTree(dest), readTree(src));
    const line = joiner.events.find((e) => e.event === 'peer-join' && e.name === 'A');
    assert.equal(line?.path, 'relayed', 'diagnostics name the relayed path');

    await stop(joiner);
    await stop(sharer);
    await new Promise((r) => setTimeout(r, 500)); // let tcpdump write what it has
    await stop(capture);
    const captured = fs.readFileSync(pcap);
    assert.ok(captured.length > marker.length * 50, `the relay's interface carried the session (${captured.length} bytes captured)`);
    assert.equal(captured.indexOf(marker), -1, 'the marker never crosses the relay in plaintext');
  } catch (err) {
    console.log(`# relay stderr:\n${relay?.stderr()}\n# sharer stderr:\n${sharer?.stderr()}\n# joiner stderr:\n${joiner?.stderr()}`);
    throw err;
  } finally {
    for (const p of [joiner, sharer, relay, capture, testnet]) if (p) await stop(p);
  }
});
