/**
 * Whom a peer without the index asks for it (docs/PROTOCOL.md §6.2). Every member answers a `step 1`
 * with what the asker lacks: asked by a newcomer holding nothing, each sends the whole index, so in a
 * session of N a newcomer received N copies of it (6 MB each at 30,000 files) and checked and applied
 * every one. So a peer without the index asks one member first, and the others once it holds the
 * index: their answers to a `step 1` with the whole index's state vector are what that member lacked.
 * It asks the others at once if the member asked leaves, or sends no part of the index for STALL_MS
 * (it may be joining itself: a member without the index answers only once it has it). Updates from
 * every member reach it meanwhile as they are made, as to any member.
 *
 * A silence asks every member again, every STALL_MS until the index is whole, the one asked first too: a
 * `step 1` can be lost without the member leaving. Two connections between the same two peers (one
 * over the LAN, one over the DHT) are one too many, and each side keeps the newer: a message sent on
 * the one the other side drops is gone, and the side that replaced its connection hears of no leave
 * (a two-editor run: the joiner's `step 1` lost so, it waited for the index for good).
 */

/** How long the member asked may send nothing of the index before the others are asked too. */
export const STALL_MS = 3000;

export class IndexAsker {
  /** The member asked first, while this peer has no index. */
  private asked: string | undefined;
  private heardAt = 0;
  /** Members not asked yet. */
  private readonly waiting = new Set<string>();
  /** Every member, to ask again after a silence. */
  private readonly members = new Set<string>();
  /** Every member is asked as it joins: this peer has the index, or the one asked failed it. */
  private askAll: boolean;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ask: (peer: string) => void,
    hasIndex: boolean,
    private readonly stallMs = STALL_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.askAll = hasIndex;
  }

  joined(peer: string): void {
    this.members.add(peer);
    if (this.askAll) return this.ask(peer);
    if (this.asked !== undefined) {
      this.waiting.add(peer);
      return;
    }
    this.asked = peer;
    this.heardAt = this.now();
    this.ask(peer);
    this.timer = setInterval(() => this.now() - this.heardAt >= this.stallMs && this.stalled(), Math.min(this.stallMs, 1000));
    this.timer.unref?.();
  }

  /** Part of the index (an update or the step 2) came from `peer`. */
  heard(peer: string): void {
    if (peer === this.asked || this.askAll) this.heardAt = this.now();
  }

  left(peer: string): void {
    this.members.delete(peer);
    this.waiting.delete(peer);
    if (peer !== this.asked) return;
    this.asked = undefined;
    this.askTheRest();
  }

  /** This peer holds the index now: the others are asked for what the first lacked. */
  indexReady(): void {
    clearInterval(this.timer);
    this.askTheRest();
  }

  /** Nothing of the index for STALL_MS: every member is asked, again, until the index is whole. */
  private stalled(): void {
    this.heardAt = this.now();
    this.askAll = true;
    this.waiting.clear();
    for (const peer of this.members) this.ask(peer);
  }

  close(): void {
    clearInterval(this.timer);
    this.waiting.clear();
    this.members.clear();
  }

  private askTheRest(): void {
    this.askAll = true;
    const rest = [...this.waiting];
    this.waiting.clear();
    for (const peer of rest) this.ask(peer);
  }
}
