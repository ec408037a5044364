/**
 * Where a heap snapshot's memory is (`node out/bench/heap-summary.js <file.heapsnapshot> [top] [label]`): the
 * largest retainers by retained size (dominator tree, Cooper–Harvey–Kennedy over the non-weak edges)
 * with the chain of objects that dominate each, and self sizes grouped by kind and constructor. A
 * bench-only tool for the snapshots HYPERPAIR_BENCH_HEAP makes (see repo.ts); DevTools shows the same
 * but cannot be run on this machine. The snapshot's arrays are read straight from the bytes: its JSON
 * is larger than a string V8 can hold.
 */
import * as fs from 'node:fs';

interface Meta {
  node_fields: string[];
  node_types: [string[], ...unknown[]];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

/** The numbers of the JSON array that starts after `key` (`"nodes":[`), parsed without a string. */
function numbers(buf: Buffer, key: string): Float64Array {
  const at = buf.indexOf(`"${key}":[`);
  if (at < 0) throw new Error(`no ${key} in the snapshot`);
  let i = at + key.length + 4;
  const out: number[] = [];
  let n = 0;
  let inNum = false;
  for (; i < buf.length; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      inNum = true;
    } else {
      if (inNum) out.push(n);
      n = 0;
      inNum = false;
      if (c === 93) break; // ]
    }
  }
  return Float64Array.from(out);
}

function strings(buf: Buffer): string[] {
  const at = buf.indexOf('"strings":[');
  const end = buf.lastIndexOf(']');
  return JSON.parse(buf.subarray(at + 10, end + 1).toString('utf8')) as string[];
}

function main(): void {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 30);
  const buf = fs.readFileSync(file);
  const metaEnd = buf.indexOf('"nodes":[');
  const head = JSON.parse(buf.subarray(0, metaEnd).toString('utf8').replace(/,\s*$/, '') + '}') as { snapshot: { meta: Meta } };
  const meta = head.snapshot.meta;
  const nodes = numbers(buf, 'nodes');
  const edges = numbers(buf, 'edges');
  const strs = strings(buf);
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSelf = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const N = nodes.length / NF;
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0, e = 0; i < N; i++) {
    firstEdge[i] = e;
    e += nodes[i * NF + nEdges];
    firstEdge[i + 1] = e;
  }
  const typeOf = (i: number) => nodeTypes[nodes[i * NF + nType]];
  const label = (i: number) => {
    const t = typeOf(i);
    const name = strs[nodes[i * NF + nName]];
    return t === 'object' || t === 'closure' || t === 'native' || t === 'synthetic' ? `${t}:${name}` : t === 'string' ? `string(${nodes[i * NF + nSelf]}B)` : `${t}:${name.slice(0, 40)}`;
  };
  const edgeLabel = (e: number) => {
    const t = edgeTypes[edges[e + eType]];
    const n = edges[e + eName];
    return t === 'element' || t === 'hidden' ? `[${n}]` : `.${strs[n]}`;
  };

  // Depth-first postorder from the root over non-weak edges.
  const post = new Int32Array(N).fill(-1);
  const order = new Uint32Array(N);
  const visited = new Uint8Array(N);
  const stack: number[] = [0];
  const edgeAt = new Uint32Array(N);
  visited[0] = 1;
  edgeAt[0] = firstEdge[0];
  let count = 0;
  while (stack.length) {
    const v = stack[stack.length - 1];
    let pushed = false;
    while (edgeAt[v] < firstEdge[v + 1]) {
      const e = edgeAt[v]++ * EF;
      if (edges[e + eType] === weak) continue;
      const w = edges[e + eTo] / NF;
      if (visited[w]) continue;
      visited[w] = 1;
      edgeAt[w] = firstEdge[w];
      stack.push(w);
      pushed = true;
      break;
    }
    if (!pushed) {
      stack.pop();
      post[v] = count;
      order[count++] = v;
    }
  }
  // Predecessors (reachable, non-weak) in CSR form.
  const predCount = new Uint32Array(N + 1);
  for (let v = 0; v < N; v++) {
    if (!visited[v]) continue;
    for (let k = firstEdge[v]; k < firstEdge[v + 1]; k++) {
      const e = k * EF;
      if (edges[e + eType] !== weak) predCount[edges[e + eTo] / NF + 1]++;
    }
  }
  for (let i = 0; i < N; i++) predCount[i + 1] += predCount[i];
  const preds = new Uint32Array(predCount[N]);
  const fill = predCount.slice(0, N);
  for (let v = 0; v < N; v++) {
    if (!visited[v]) continue;
    for (let k = firstEdge[v]; k < firstEdge[v + 1]; k++) {
      const e = k * EF;
      if (edges[e + eType] !== weak) preds[fill[edges[e + eTo] / NF]++] = v;
    }
  }
  const idom = new Int32Array(N).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (post[a] < post[b]) a = idom[a];
      while (post[b] < post[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = count - 2; i >= 0; i--) {
      const v = order[i];
      let d = -1;
      for (let k = predCount[v]; k < predCount[v + 1]; k++) {
        const p = preds[k];
        if (idom[p] === -1) continue;
        d = d === -1 ? p : intersect(p, d);
      }
      if (d !== idom[v]) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(N);
  for (let i = 0; i < count; i++) {
    const v = order[i];
    retained[v] += nodes[v * NF + nSelf];
    if (v !== 0) retained[idom[v]] += retained[v];
  }
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(`${file}: ${N} nodes, ${mb(retained[0])} MB reachable`);

  // The edge by which a node's dominator (or the chain below it) holds it: the first predecessor's.
  const via = (v: number) => {
    const p = idom[v];
    for (let k = firstEdge[p]; k < firstEdge[p + 1]; k++) if (edges[k * EF + eTo] / NF === v) return edgeLabel(k * EF);
    return '…';
  };
  const chain = (v: number) => {
    const parts: string[] = [];
    for (let x = v; x !== 0 && parts.length < 9; x = idom[x]) parts.push(`${label(x)}${via(x)}`);
    return parts.reverse().join(' ← ');
  };
  // Largest retainers: skip a node whose dominator retains nearly the same (it says nothing new).
  const ranked = Array.from(order.subarray(0, count)).filter((v) => v !== 0 && typeOf(v) !== 'synthetic' && retained[v] > 256 * 1024);
  ranked.sort((a, b) => retained[b] - retained[a]);
  console.log(`\nlargest retainers (retained MB, dominator chain from the root):`);
  for (const v of ranked.slice(0, top)) console.log(`${mb(retained[v]).padStart(7)}  ${label(v)}  ${chain(v)}`);

  const groups = new Map<string, { self: number; n: number }>();
  for (let i = 0; i < count; i++) {
    const v = order[i];
    const t = typeOf(v);
    const key = t === 'object' || t === 'closure' || t === 'native' ? `${t}:${strs[nodes[v * NF + nName]]}` : t;
    const g = groups.get(key) ?? { self: 0, n: 0 };
    g.self += nodes[v * NF + nSelf];
    g.n++;
    groups.set(key, g);
  }
  console.log(`\nself size by kind (MB, count):`);
  for (const [k, g] of [...groups].sort((a, b) => b[1].self - a[1].self).slice(0, top)) console.log(`${mb(g.self).padStart(7)}  ${String(g.n).padStart(9)}  ${k}`);

  // A third argument (`object:KnownFiles`): what the largest retainer of that label holds, by kind.
  const under = process.argv[4];
  const at = under ? ranked.find((v) => label(v) === under) : undefined;
  if (under && at === undefined) console.log(`\nno retainer ${under} among the largest`);
  if (at === undefined) return;
  const inside = new Map<string, { self: number; n: number }>();
  const dominatedBy = (v: number) => {
    for (let x = v; x !== 0; x = idom[x]) if (x === at) return true;
    return false;
  };
  for (let i = 0; i < count; i++) {
    const v = order[i];
    if (!dominatedBy(v)) continue;
    const key = `${label(v).replace(/\(\d+B\)/, '')}${via(v)}`;
    const g = inside.get(key) ?? { self: 0, n: 0 };
    g.self += nodes[v * NF + nSelf];
    g.n++;
    inside.set(key, g);
  }
  console.log(`\n${under} (${mb(retained[at])} MB) holds, by kind and the edge it is held by (MB, count):`);
  for (const [k, g] of [...inside].sort((a, b) => b[1].self - a[1].self).slice(0, top)) console.log(`${mb(g.self).padStart(7)}  ${String(g.n).padStart(9)}  ${k}`);
}

main();
