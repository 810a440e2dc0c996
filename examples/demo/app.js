// The demo page: dials the chat room through the gateway with the browser bundle.
import { dialClient, json } from '/fastway.js';

const status = document.getElementById('status');
const log = document.getElementById('log');
const form = document.getElementById('say');
const nameInput = document.getElementById('name');
const textInput = document.getElementById('text');

function show(text, className, who) {
  const li = document.createElement('li');
  if (className) li.className = className;
  if (who) {
    const b = document.createElement('b');
    b.textContent = `${who}: `;
    li.append(b);
  }
  li.append(text);
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

function setStatus(text, state) {
  status.textContent = text;
  status.className = state;
}

async function main() {
  const config = await (await fetch('/config.json')).json();
  const gateway = `ws://${location.hostname}:${config.wsPort}${config.wsPath}`;
  const client = await dialClient(gateway, { format: json() });
  const conn = await client.dial(config.serverId);
  let me = 0;
  setStatus(`connected to ${gateway}, chat room = server ${config.serverId}`, 'open');

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = textInput.value.trim();
    if (text === '' || conn.isClosed) return;
    conn.send({ type: 'say', name: nameInput.value.trim(), text });
    textInput.value = '';
  });

  conn.closed.then((reason) => {
    setStatus(`the chat room closed the connection${reason ? ` (${reason.code})` : ''}`, 'closed');
    show('connection closed', 'info');
  });

  for await (const event of conn) {
    switch (event.type) {
      case 'welcome':
        me = event.you;
        if (nameInput.value === '') nameInput.value = `player ${me}`;
        setStatus(`connected as client ${me} via ${gateway}, chat room = server ${config.serverId}`, 'open');
        show(`you are client ${me}; ${event.members.length === 0 ? 'no one else is here yet' : `also here: ${event.members.map((m) => `client ${m}`).join(', ')}`}`, 'info');
        break;
      case 'joined':
        show(`client ${event.client} joined`, 'info');
        break;
      case 'left':
        show(`client ${event.client} left`, 'info');
        break;
      case 'said':
        show(event.text, event.client === me ? 'mine' : '', `${event.name} (client ${event.client})`);
        break;
    }
  }
}

main().catch((err) => {
  setStatus(`error: ${err.code ?? ''} ${err.message}`, 'closed');
  console.error(err);
});
