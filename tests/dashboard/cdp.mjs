// A small Chrome DevTools Protocol client over --remote-debugging-pipe:
// Node's standard library only (no npm, no WebSocket).  Chromium reads
// commands from fd 3 and writes replies and events to fd 4, each message
// one JSON text ended by a NUL byte.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Browser {
  static async launch(binary, { timeoutMs = 30000 } = {}) {
    const profile = mkdtempSync(join(tmpdir(), 'bitfarm-chromium.'));
    const args = [
      '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--mute-audio', '--hide-scrollbars',
      '--remote-debugging-pipe', '--user-data-dir=' + profile, 'about:blank',
    ];
    // Chromium's own sandbox needs user namespaces or a setuid helper; as
    // root (containers) it refuses to start without this.
    if (process.getuid && process.getuid() === 0) args.unshift('--no-sandbox');
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const b = new Browser(child, profile);
    child.stderr.on('data', (d) => { b.stderr += d; if (b.stderr.length > 65536) b.stderr = b.stderr.slice(-32768); });
    await b.send('Browser.getVersion', {}, null, timeoutMs);
    return b;
  }

  constructor(child, profile) {
    this.child = child;
    this.profile = profile;
    this.stderr = '';
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.exited = false;
    let buf = Buffer.alloc(0);
    child.stdio[4].on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let z;
      while ((z = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, z).toString('utf8'));
        buf = buf.subarray(z + 1);
        this.dispatch(msg);
      }
    });
    child.on('exit', (code, sig) => {
      this.exited = true;
      for (const { reject } of this.pending.values()) reject(new Error(`chromium exited (${code ?? sig}): ${this.stderr.slice(-500)}`));
      this.pending.clear();
    });
  }

  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
      else p.resolve(msg.result);
    } else {
      for (const l of this.listeners) l(msg);
    }
  }

  send(method, params = {}, sessionId = null, timeoutMs = 30000) {
    if (this.exited) return Promise.reject(new Error('chromium is not running'));
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, method });
      this.child.stdio[3].write(JSON.stringify(msg) + '\0');
    });
  }

  on(fn) { this.listeners.push(fn); }

  async newPage() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    return page;
  }

  async close() {
    if (!this.exited) {
      try { await this.send('Browser.close', {}, null, 5000); } catch (e) { /* it may be gone */ }
      await new Promise((r) => { if (this.exited) r(); else { this.child.on('exit', r); setTimeout(() => { this.child.kill('SIGKILL'); r(); }, 5000); } });
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(browser, sessionId) {
    this.browser = browser;
    this.sessionId = sessionId;
    this.errors = [];      // uncaught exceptions and console.error lines
    this.loaded = null;
    browser.on((msg) => {
      if (msg.sessionId !== sessionId) return;
      if (msg.method === 'Runtime.exceptionThrown') {
        const d = msg.params.exceptionDetails;
        this.errors.push('exception: ' + ((d.exception && d.exception.description) || d.text));
      } else if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error') {
        this.errors.push('console.error: ' + msg.params.args.map((a) => a.value ?? a.description ?? '').join(' '));
      } else if (msg.method === 'Page.loadEventFired' && this.loaded) {
        this.loaded();
      }
    });
  }

  send(method, params = {}) { return this.browser.send(method, params, this.sessionId); }

  async viewport(width, height, mobile) {
    await this.send('Emulation.setDeviceMetricsOverride', {
      width, height, deviceScaleFactor: 1, mobile: !!mobile,
    });
    await this.send('Emulation.setTouchEmulationEnabled', { enabled: !!mobile });
  }

  async goto(url, timeoutMs = 20000) {
    const done = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${url}: not loaded in ${timeoutMs} ms`)), timeoutMs);
      this.loaded = () => { clearTimeout(t); this.loaded = null; resolve(); };
    });
    const r = await this.send('Page.navigate', { url });
    if (r.errorText) throw new Error(`${url}: ${r.errorText}`);
    await done;
  }

  // Evaluates an expression (a function body's value) in the page; returns
  // its value (JSON-able), awaiting a promise.
  async eval(expr) {
    const r = await this.send('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) {
      throw new Error('in the page: ' + ((r.exceptionDetails.exception && r.exceptionDetails.exception.description) || r.exceptionDetails.text));
    }
    return r.result.value;
  }

  // Waits until the expression is truthy; returns its value, or throws
  // with the last value seen.
  async waitFor(expr, timeoutMs = 15000, what = expr) {
    const end = Date.now() + timeoutMs;
    let v;
    for (;;) {
      v = await this.eval(expr);
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async screenshot() {
    const r = await this.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: false });
    return Buffer.from(r.data, 'base64');
  }
}
