import { useEffect, useRef } from 'react';
import { currentSession } from './client.ts';

export interface LiveMessage {
  type: 'log' | 'status' | 'progress' | 'complete' | 'error';
  channel: string;
  payload: Record<string, unknown>;
  timestamp: string;
}

/**
 * Subscribes to a live channel (`job:<id>`, `pipeline:<id>`, `global`) while mounted, and
 * reconnects with backoff after a drop (a restart, a refreshed token). `onReady` runs each time
 * the subscription is sent: what changed before it (between a page's first fetch and the socket
 * opening, or while it was down) sent no message, so a page fetches again there.
 */
export function useLive(
  channel: string | null,
  onMessage: (m: LiveMessage) => void,
  onReady?: () => void,
): void {
  const handler = useRef(onMessage);
  handler.current = onMessage;
  const ready = useRef(onReady);
  ready.current = onReady;
  useEffect(() => {
    if (!channel) return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let delay = 500;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      const token = currentSession()?.accessToken;
      if (!token || stopped) return;
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      socket = new WebSocket(`${proto}//${location.host}/api/v1/ws?token=${encodeURIComponent(token)}`);
      socket.onopen = () => {
        delay = 500;
        socket?.send(JSON.stringify({ type: 'subscribe', channel }));
        ready.current?.();
      };
      socket.onmessage = (e) => {
        try {
          handler.current(JSON.parse(String(e.data)) as LiveMessage);
        } catch {
          // a malformed message is dropped; the next one will do
        }
      };
      socket.onclose = () => {
        if (stopped) return;
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10_000);
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close();
    };
  }, [channel]);
}
