// Live updates: an EventSource on /events, opened with a short-lived ticket (EventSource
// cannot send the Authorization header), reopened with a fresh ticket and the last event id
// whenever the browser gives up on it.

import { call } from "./api.js";

export class Live {
  constructor({ onEvent, onReload, onStatus }) {
    this.onEvent = onEvent;
    this.onReload = onReload;
    this.onStatus = onStatus;
    this.lastId = null;
    this.source = null;
    this.retry = 1000;
    this.timer = null;
  }

  async start() {
    this.stop();
    this.onStatus("connecting");
    let ticket;
    try {
      ticket = (await call("POST", "/events/ticket")).data.ticket;
    } catch (err) {
      this.onStatus(err.status === 401 ? "signed-out" : "offline");
      this.later();
      return;
    }
    const params = new URLSearchParams({ ticket });
    if (this.lastId !== null) params.set("last_event_id", this.lastId);
    const source = new EventSource(`/events?${params}`);
    this.source = source;
    source.onopen = () => {
      this.retry = 1000;
      this.onStatus("live");
    };
    source.onmessage = (message) => {
      this.lastId = message.lastEventId || this.lastId;
      try {
        this.onEvent(JSON.parse(message.data));
      } catch (err) {
        console.warn("unreadable event", err);
      }
    };
    source.addEventListener("reload", (message) => {
      this.lastId = message.lastEventId || this.lastId;
      this.onReload();
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        this.onStatus("offline");
        this.later();  // e.g. the ticket expired: a new one, same last id
      } else {
        this.onStatus("reconnecting");
      }
    };
  }

  later() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), this.retry);
    this.retry = Math.min(this.retry * 2, 30000);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
