import type { GatewayStats } from './stats.js';
import { type Peer, PeerState } from './peer.js';

/**
 * The send-queue bounds (docs/protocol.md §8), applied to every frame queued alike, forwarded or
 * the gateway's own answer. When the backlog of a destination (written, not yet taken) is
 * over its bound: a client is dropped as a slow consumer; a server makes the gateway stop
 * reading from the sender until it is half drained. A peer whose own commands' answers pile
 * up (it floods commands faster than it reads) is not dropped but paused the same way, so
 * its flood slows down to its reading. What one turn adds before these checks can act is
 * bounded by what one turn reads.
 */
export class FlowControl {
  private readonly clientBound: number;
  private readonly serverBound: number;
  private readonly clientBytes: number;
  private readonly serverBytes: number;

  /** @param client, server the bounds: `sendQueue` messages and `sendBuffer` bytes, whichever is reached first. */
  constructor(
    client: { sendQueue: number; sendBuffer: number },
    server: { sendQueue: number; sendBuffer: number },
    private readonly counters: GatewayStats,
    private readonly slowConsumer: (client: Peer) => void,
  ) {
    this.clientBound = client.sendQueue;
    this.serverBound = server.sendQueue;
    this.clientBytes = client.sendBuffer;
    this.serverBytes = server.sendBuffer;
  }

  /** `to` was just queued a frame because of what `from` sent: applies the bounds of `to`. */
  queued(to: Peer, from: Peer): void {
    const bound = to.isClient ? this.clientBound : this.serverBound;
    if (to === from) {
      // Answers to its own commands: counted with this turn's, so its reading stops at once.
      if (to.queued > bound) this.congest(to, to);
    } else if (to.backlog > bound || to.socket.writableLength > (to.isClient ? this.clientBytes : this.serverBytes)) {
      if (to.isClient) this.slowConsumer(to);
      else this.congest(to, from);
    }
  }

  /** A write to the congested `peer` completed: resumes its senders once it is half drained (by messages and by bytes). */
  written(peer: Peer): void {
    if (peer.backlog > (peer.isClient ? this.clientBound : this.serverBound) >>> 1) return;
    if (peer.socket.writableLength > (peer.isClient ? this.clientBytes : this.serverBytes) / 2) return;
    peer.congested = false;
    peer.releaseBlocked();
  }

  /** `peer` is going away: the senders it paused read again (unless another congested peer holds them). */
  release(peer: Peer): void {
    peer.releaseBlocked();
  }

  private congest(peer: Peer, sender: Peer): void {
    peer.congested = true;
    if (sender.state === PeerState.Closed) return;
    if (peer.block(sender)) this.counters.backpressurePauses++;
  }
}
