import type { MqttClient } from 'mqtt';

type Packet = { cmd: string; messageId?: number };
type SendPacket = (packet: Packet, cb?: (err?: Error) => void, ...more: unknown[]) => void;

/**
 * The acknowledgements a subscriber owes its broker (PUBACK for QoS 1, PUBREC for QoS 2), held
 * until the rows of their messages are committed, then sent in the order the messages came.
 *
 * mqtt.js acknowledges a message as soon as its handlers ran, and its one hook for delaying that
 * (`customHandleAcks`) also stops it reading the next packet until the acknowledgement goes: one
 * message per checkpoint. So its outgoing acknowledgements are taken here instead (the client's
 * `_sendPacket`, mqtt ^5.16) and the connection reads on while they wait; the broker, which keeps
 * a persistent session's unacknowledged messages, sends them again after a crash. The integration
 * test that messages of a run killed before its checkpoint come again fails if mqtt.js changes this.
 */
export class HeldAcks {
  readonly #send: SendPacket;
  readonly #held: Packet[] = [];
  #sent = 0;

  constructor(client: MqttClient) {
    const c = client as unknown as { _sendPacket: SendPacket };
    this.#send = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, ...more) => {
      if (packet.cmd !== 'puback' && packet.cmd !== 'pubrec') return this.#send(packet, cb, ...more);
      this.#held.push(packet);
      // The client's packet loop goes on at once: the next message is read while this one waits.
      cb?.();
    };
  }

  /** Acknowledgements taken so far (sent or held), in message order. */
  get taken(): number {
    return this.#sent + this.#held.length;
  }

  /** Sends the held acknowledgements until `upTo` of them (counted from the start) have gone. */
  release(upTo: number): void {
    while (this.#sent < upTo && this.#held.length > 0) {
      this.#send(this.#held.shift()!);
      this.#sent++;
    }
  }
}
