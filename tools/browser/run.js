// Loads MQTT.js into a blank page in headless Chromium, connects to the
// broker over WebSocket, subscribes to to/browser, publishes to
// from/browser, and prints what it received as JSON. Usage:
//   node run.js ws://127.0.0.1:PORT/mqtt
const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');

// The page is served from 127.0.0.1 too: Chromium's local network access
// checks block a page from elsewhere (even about:blank) from reaching
// loopback.
function serve() {
  const lib = fs.readFileSync(path.join(__dirname, 'node_modules/mqtt/dist/mqtt.min.js'));
  const server = http.createServer((req, res) => {
    if (req.url === '/mqtt.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(lib);
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>midge</title><script src="/mqtt.min.js"></script>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

(async () => {
  const url = process.argv[2];
  const server = await serve();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.error('page:', m.text()));
    await page.goto('http://127.0.0.1:' + server.address().port + '/');
    const got = await page.evaluate((url) => new Promise((resolve, reject) => {
      const c = mqtt.connect(url, { clientId: 'chromium', protocolVersion: 5, reconnectPeriod: 0 });
      const timer = setTimeout(() => reject(new Error('timed out')), 15000);
      c.on('error', (e) => reject(new Error(String(e))));
      c.on('connect', () => {
        c.subscribe('to/browser', { qos: 1 }, (err) => {
          if (err) return reject(err);
          c.publish('from/browser', 'hello from chromium', { qos: 1 });
        });
      });
      c.on('message', (topic, payload) => {
        clearTimeout(timer);
        c.end();
        resolve({ topic, payload: payload.toString() });
      });
    }), url);
    console.log(JSON.stringify(got));
  } finally {
    await browser.close();
    server.close();
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
