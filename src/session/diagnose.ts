/**
 * The connectivity report of a session ("Diagnose Connection", the headless peer): a plain object, and
 * its text form for a person or a helpdesk. It must never hold a secret: no session code, no topic,
 * no derived key, and public keys only in a shortened form.
 */
import { RELAY_ADVICE, shortKey } from './format';
import type { LanInfo } from './lan';
import type { BootstrapNode, SessionDHT } from './network';
import type { PeerInfo } from './transport';
import { PROTOCOL_VERSION } from './wire';

/** How one connection runs: over the local network (mDNS + TCP), directly over the DHT, or through a blind relay. */
export type ConnectionPath = 'lan' | 'direct' | 'relayed';

export interface MemberDiagnosis {
  /** Shortened public key (first 8 hex characters). */
  id: string;
  name: string;
  path: ConnectionPath;
  rttMs: number | null;
  connectedForS: number;
}

export interface Diagnosis {
  generatedAt: string;
  protocolVersion: number;
  self: { id: string; name: string };
  status: string;
  /** Made outside a session (probe.ts): a test of this machine's network, with no members to list. */
  outsideSession?: boolean;
  dht: {
    network: string;
    /** DHT nodes answer: some are known, and hyperdht's health check says online. */
    reachable: boolean;
    /** Bootstrapping finished and found DHT nodes. */
    bootstrapped: boolean;
    /** DHT nodes in this peer's routing table. */
    knownNodes: number;
    /** UDP gets answers at all: false when it is blocked or no DHT node is reachable. */
    udp: boolean;
    nat: {
      /** 'open': reachable directly; 'consistent': holepunching works; 'random': port changes per destination; 'unknown': not measured yet. */
      type: 'open' | 'consistent' | 'random' | 'unknown';
      firewalled: boolean;
      randomized: boolean;
      /** This peer's address as the DHT sees it. */
      host: string | null;
      port: number | null;
    };
  };
  lan: {
    enabled: boolean;
    running: boolean;
    port: number | null;
    interface: string | null;
    peersHeard: number;
    otherAnswers: number;
    problem: string | null;
  };
  relays: { configured: number; keys: string[] };
  lastConnectProblem: { code: string; secondsAgo: number } | null;
  members: MemberDiagnosis[];
  /** What to do about what is found, for a person. */
  advice: string[];
  /**
   * The open documents' consistency checks (filled in by the editor): buffers found apart from the
   * shared text and merged, and documents a peer showed differently at the same state. Both stay 0.
   */
  /** Open documents merged after disagreeing, found apart from a peer's; files on disk merged after disagreeing. */
  texts?: { repairs: number; divergences: number; files?: number; notebooks?: { repairs: number; divergences: number } };
  /** Voice frames this peer sent in the call, and those dropped because a connection was busy. */
  call?: { sent: number; dropped: number };
}

export interface DiagnosisInput {
  self: PeerInfo;
  status: string;
  bootstrap: BootstrapNode[] | undefined;
  dht?: SessionDHT;
  lanEnabled: boolean;
  lan?: LanInfo;
  lanError?: string;
  relays: Buffer[];
  lastConnectProblem: { code: string; at: number } | undefined;
  members: Array<{ id: string; name: string; path: ConnectionPath; rttMs: number | undefined; connectedAt: number }>;
}

/** A key as the report shows it: shortened, and marked as such. */
function masked(hex: string): string {
  return shortKey(hex) + '…';
}

export function buildDiagnosis(input: DiagnosisInput): Diagnosis {
  const now = Date.now();
  const dht = input.dht;
  const knownNodes = dht && !dht.destroyed ? dht.toArray().length : 0;
  const reachable = knownNodes > 0 && !!dht?.online;
  const bootstrapped = !!dht?.bootstrapped && knownNodes > 0;
  const firewalled = dht ? dht.firewalled : true;
  const randomized = dht ? dht.randomized : false;
  const natType: Diagnosis['dht']['nat']['type'] = !dht || !dht.host ? 'unknown' : !firewalled ? 'open' : randomized ? 'random' : 'consistent';
  const lanRunning = !!input.lan;
  const d: Diagnosis = {
    generatedAt: new Date(now).toISOString(),
    protocolVersion: PROTOCOL_VERSION,
    self: { id: masked(input.self.id), name: input.self.name },
    status: input.status,
    dht: {
      network: input.bootstrap ? `private (${input.bootstrap.map((b) => `${b.host}:${b.port}`).join(', ')})` : 'public hyperswarm DHT',
      reachable,
      bootstrapped,
      knownNodes,
      udp: knownNodes > 0,
      nat: { type: natType, firewalled, randomized, host: dht?.host ?? null, port: dht?.host ? dht.port : null },
    },
    lan: {
      enabled: input.lanEnabled,
      running: lanRunning,
      port: input.lan?.port ?? null,
      interface: input.lan?.interface ?? null,
      peersHeard: input.lan?.peersHeard ?? 0,
      otherAnswers: input.lan?.otherAnswers ?? 0,
      problem: input.lanError ?? input.lan?.lastProblem ?? null,
    },
    relays: { configured: input.relays.length, keys: input.relays.map((k) => masked(k.toString('hex'))) },
    lastConnectProblem: input.lastConnectProblem
      ? { code: input.lastConnectProblem.code, secondsAgo: Math.round((now - input.lastConnectProblem.at) / 1000) }
      : null,
    members: input.members.map((m) => ({
      id: masked(m.id),
      name: m.name,
      path: m.path,
      rttMs: m.rttMs ?? null,
      connectedForS: m.connectedAt ? Math.round((now - m.connectedAt) / 1000) : 0,
    })),
    advice: [],
  };
  d.advice = adviceFor(d);
  return d;
}

function adviceFor(d: Diagnosis): string[] {
  const advice: string[] = [];
  if (!d.dht.udp) {
    advice.push(
      'No DHT node answers: UDP may be blocked here, or the network has no internet. Peers on this local network can still connect through LAN discovery' +
        (d.lan.running ? '.' : ' (switch it on: hyperpair.lanDiscovery).'),
    );
  }
  if (d.dht.nat.type === 'random' && d.relays.configured === 0) {
    advice.push('This network changes ports for every destination (randomising NAT): connections to peers behind a similar NAT need a relay. ' + RELAY_ADVICE);
  }
  if (d.lastConnectProblem && d.relays.configured === 0) {
    advice.push(`A direct connection failed (${d.lastConnectProblem.code}) and no relay is configured. ${RELAY_ADVICE}`);
  }
  if (d.lan.enabled && !d.lan.running) advice.push(`LAN discovery is switched on but not running: ${d.lan.problem ?? 'unknown reason'}.`);
  return advice;
}

/** The report as text, one fact a line, for a document or a clipboard. */
export function formatDiagnosis(d: Diagnosis): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    `Hyperpair connection report — ${d.generatedAt}`,
    `protocol: ${d.protocolVersion}`,
    d.outsideSession ? `this machine: ${d.self.name}, outside any session` : `this peer: ${d.self.name} (${d.self.id}), status ${d.status}`,
    '',
    `DHT: ${d.dht.network}`,
    `  reachable: ${yes(d.dht.reachable)}; bootstrapped: ${yes(d.dht.bootstrapped)} (${d.dht.knownNodes} nodes known); UDP working: ${yes(d.dht.udp)}`,
    `  NAT: ${d.dht.nat.type} (firewalled: ${yes(d.dht.nat.firewalled)}, randomized: ${yes(d.dht.nat.randomized)}, address as seen: ${d.dht.nat.host ? `${d.dht.nat.host}:${d.dht.nat.port}` : 'unknown'})`,
    `LAN discovery: ${d.lan.enabled ? (d.lan.running ? `on (TCP port ${d.lan.port}, multicast via ${d.lan.interface})` : 'switched on, not running') : 'off'}`,
    `  peers of this session heard: ${d.lan.peersHeard}; other answers seen: ${d.lan.otherAnswers}${d.lan.problem ? `; problem: ${d.lan.problem}` : ''}`,
    `relays: ${d.relays.configured ? `${d.relays.configured} configured (${d.relays.keys.join(', ')})` : 'none configured'}`,
    `last direct connection failure: ${d.lastConnectProblem ? `${d.lastConnectProblem.code}, ${d.lastConnectProblem.secondsAgo} s ago` : 'none'}`,
    '',
    d.outsideSession
      ? 'not in a session: this tested how this machine reaches the network (start or join a session to see its members)'
      : `people in the session: ${d.members.length + 1} (you and ${d.members.length} connected to you directly)`,
    ...d.members.map((m) => `  ${m.name} (${m.id}): ${describePath(m.path)}, ${m.rttMs === null ? 'RTT not measured yet' : `RTT ${m.rttMs} ms`}, connected ${m.connectedForS} s`),
  ];
  if (d.call) lines.push('', `call: ${d.call.sent} voice frames sent, ${d.call.dropped} dropped while a connection was busy`);
  if (d.texts) {
    lines.push('', `open documents: ${d.texts.repairs} merged after disagreeing with the shared text, ${d.texts.divergences} found apart from a peer's`);
    if (d.texts.files !== undefined) lines.push(`files on disk: ${d.texts.files} merged after disagreeing with the shared text`);
    const nb = d.texts.notebooks;
    if (nb) lines.push(`open notebooks: ${nb.repairs} cells merged after disagreeing with the shared text, ${nb.divergences} found with their cells apart from the shared notebook`);
  }
  if (d.advice.length) lines.push('', 'advice:', ...d.advice.map((a) => `  - ${a}`));
  return lines.join('\n') + '\n';
}

export function describePath(path: ConnectionPath): string {
  return path === 'lan' ? 'local network' : path === 'relayed' ? 'through a relay' : 'direct';
}
