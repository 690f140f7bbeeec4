// The dashboard's one socket: HubClient (client.js) on this page's own /ws with cookie
// auth. Everything else — backoff, resume with `since`, ping, close codes — is the client's.
import { HubClient, hubSocketURL } from "./client.js";

export class HubSocket extends HubClient {
  /** onStatus, onDown, onStopped: see HubClient. */
  constructor(callbacks = {}) {
    super({ url: hubSocketURL(""), ...callbacks });
  }
}
