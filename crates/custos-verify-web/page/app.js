// The page's behaviour: collect the bundle, evidence files, pin, witnesses and earlier
// checkpoint; hash evidence files slice by slice in WebAssembly; verify; show the report.
// Every check and every sentence comes from the WebAssembly module (custos-core), never from
// this file. Text from the bundle is inserted with textContent only, never as HTML.
(function () {
  'use strict';

  /** Bytes per File.slice read while hashing evidence; tests may lower it to force many slices. */
  const config = (window.custosConfig = Object.assign({ chunkBytes: 8 << 20 }, window.custosConfig));
  /** Largest earlier-checkpoint file read, as custos-verify --since (1 MiB). */
  const MAX_SINCE_BYTES = 1 << 20;
  const TITLES = {
    'verified': 'VERIFIED',
    'verified-unpinned': "VERIFIED ONLY AGAINST THE BUNDLE'S OWN KEY. NOTHING WAS PINNED.",
    'failed': 'FAILED',
  };

  const $ = (id) => document.getElementById(id);
  const state = { bundle: null, evidence: [], since: null };
  /** Evidence digests already computed: File -> { key: "md5,sha1", evidence: Evidence }. */
  const digests = new Map();
  let custos = null;
  let busy = false;

  function setState(s) {
    document.body.dataset.state = s;
  }

  function status(text, isError) {
    const el = $('status');
    el.textContent = text;
    el.classList.toggle('error', Boolean(isError));
  }

  function sizeText(n) {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i += 1;
    }
    return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
  }

  function refresh() {
    $('bundle-name').textContent = state.bundle
      ? `${state.bundle.name} (${sizeText(state.bundle.size)})`
      : 'No bundle chosen.';
    const list = $('evidence-list');
    list.replaceChildren();
    state.evidence.forEach((file, i) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = file.name;
      const size = document.createElement('span');
      size.className = 'hint';
      size.textContent = sizeText(file.size);
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'small';
      remove.textContent = 'Remove';
      remove.addEventListener('click', () => {
        state.evidence.splice(i, 1);
        refresh();
      });
      li.append(name, size, remove);
      list.append(li);
    });
    $('evidence-clear').hidden = state.evidence.length === 0;
    $('since-name').textContent = state.since ? state.since.name : '';
    $('since-clear').hidden = !state.since;
    $('verify').disabled = busy || !custos || !state.bundle;
    if (custos && !busy) {
      status(state.bundle ? 'Ready: press Verify.' : 'Choose a report bundle (box 1).');
    }
  }

  function setBundle(file) {
    state.bundle = file;
    refresh();
  }

  function addEvidence(files) {
    for (const f of files) state.evidence.push(f);
    refresh();
  }

  /** Bundle box: the first file is the bundle, any others are evidence. */
  function dropOnBundle(files) {
    if (files.length === 0) return;
    setBundle(files[0]);
    addEvidence(files.slice(1));
  }

  /** A key file dropped on the pin box: its first non-empty line. */
  async function dropOnPin(files) {
    if (files.length === 0) return;
    const text = await files[0].slice(0, 64 * 1024).text();
    const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '');
    $('pin').value = line || '';
  }

  function dropZone(id, onFiles) {
    const zone = $(id);
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      e.stopPropagation();
      zone.classList.remove('over');
      onFiles(Array.from(e.dataTransfer.files));
    });
  }

  /** Evidence digests: SHA-256, and MD5/SHA-1 when wanted; each slice is read while the
   *  previous one is hashed. Memory stays at two slices whatever the file's size. */
  async function digest(file, md5, sha1, done, total) {
    const key = `${md5},${sha1}`;
    const cached = digests.get(file);
    if (cached && cached.key === key) return cached.evidence;
    const hasher = new custos.EvidenceHasher(file.name, md5, sha1);
    const chunk = Math.max(1, config.chunkBytes | 0);
    const read = (at) => file.slice(at, Math.min(at + chunk, file.size)).arrayBuffer();
    let next = file.size > 0 ? read(0) : null;
    for (let at = 0; at < file.size; at += chunk) {
      const buf = await next;
      next = at + chunk < file.size ? read(at + chunk) : null;
      hasher.update(new Uint8Array(buf));
      const hashed = done + hasher.bytes;
      $('progress').value = total > 0 ? hashed / total : 1;
      status(`Hashing ${file.name}: ${sizeText(hasher.bytes)} of ${sizeText(file.size)}…`);
    }
    if (hasher.bytes !== file.size) {
      hasher.free();
      throw new Error(`${file.name} changed while it was read`);
    }
    const evidence = hasher.finish();
    digests.set(file, { key, evidence });
    return evidence;
  }

  async function readSince(file) {
    const bytes = new Uint8Array(await file.slice(0, MAX_SINCE_BYTES).arrayBuffer());
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (_) {
      throw new Error(`earlier checkpoint ${file.name}: not UTF-8 text`);
    }
  }

  async function verify() {
    if (busy || !custos || !state.bundle) return;
    busy = true;
    setState('busy');
    refresh();
    $('progress').hidden = false;
    $('progress').value = 0;
    try {
      const file = state.bundle;
      status(`Reading ${file.name}…`);
      // One byte past the limit, so that a larger file is refused as too large unread.
      const limit = custos.max_bundle_bytes() + 1;
      const bytes = new Uint8Array(await file.slice(0, limit).arrayBuffer());
      // undefined when the bundle does not parse: evidence is then not hashed, as on the
      // command line, and the report says what is wrong with the bundle.
      const wanted = custos.digests_wanted(bytes);
      const md5 = wanted ? wanted.md5 : false;
      const sha1 = wanted ? wanted.sha1 : false;
      const files = wanted ? state.evidence : [];
      if (wanted) wanted.free();
      const total = files.reduce((n, f) => n + f.size, 0);
      let done = 0;
      const evidence = [];
      for (const f of files) {
        let ev;
        try {
          ev = await digest(f, md5, sha1, done, total);
        } catch (e) {
          throw new Error(`evidence ${f.name}: ${e.message || e}`);
        }
        evidence.push(ev.copy());
        done += f.size;
      }
      const since = state.since ? await readSince(state.since) : undefined;
      status('Verifying…');
      const json = custos.verify_bundle(bytes, file.name, $('pin').value, evidence,
        $('witnesses').value, since);
      show(JSON.parse(json));
      status(`Verified ${file.name}: see the result below.`);
      setState('done');
    } catch (e) {
      $('result').hidden = true;
      status(`Cannot verify: ${e.message || e}`, true);
      setState('error');
    } finally {
      busy = false;
      $('progress').hidden = true;
      document.body.dataset.runs = String(Number(document.body.dataset.runs) + 1);
      $('verify').disabled = !state.bundle;
    }
  }

  function checkRow(c) {
    const tr = document.createElement('tr');
    tr.className = c.outcome;
    tr.dataset.id = c.id;
    tr.dataset.subject = c.subject;
    tr.dataset.outcome = c.outcome;
    const cell = (cls, text) => {
      const td = document.createElement('td');
      if (cls) td.className = cls;
      td.textContent = text;
      return td;
    };
    const finding = cell('', c.message);
    if (c.reason !== null) {
      const reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = `(${c.reason})`;
      finding.append(reason);
    }
    const id = cell('check', '');
    const code = document.createElement('code');
    code.textContent = c.id;
    id.append(code);
    tr.append(cell('tag', c.tag), finding, id, cell('about', c.subject));
    return tr;
  }

  function fill(tbody, checks) {
    const frag = document.createDocumentFragment();
    for (const c of checks) frag.append(checkRow(c));
    tbody.replaceChildren(frag);
  }

  let lastChecks = [];

  function show(r) {
    $('result').hidden = false;
    const v = $('verdict');
    v.className = `verdict ${r.verdict}`;
    v.dataset.verdict = r.verdict;
    document.body.dataset.verdict = r.verdict;
    $('verdict-title').textContent = TITLES[r.verdict] || r.verdict;
    $('verdict-text').textContent = r.verdict_text;
    $('pin-note').hidden = r.verdict !== 'verified-unpinned';
    const findings = r.checks.filter((c) => c.outcome !== 'pass');
    fill($('findings').querySelector('tbody'), findings);
    $('findings').hidden = findings.length === 0;
    $('findings-none').hidden = findings.length !== 0;
    const failed = findings.filter((c) => c.outcome === 'fail').length;
    $('all-checks-summary').textContent =
      `All ${r.checks.length} checks (${r.checks.length - findings.length} passed, ` +
      `${failed} failed, ${findings.length - failed} warnings)`;
    // Tens of thousands of rows for a large bundle: built only when opened.
    lastChecks = r.checks;
    const all = $('all-checks');
    all.querySelector('tbody').replaceChildren();
    if (all.open) fill(all.querySelector('tbody'), lastChecks);
    $('report-text').textContent = r.text;
  }

  function wire() {
    $('bundle-input').addEventListener('change', (e) => {
      dropOnBundle(Array.from(e.target.files));
      e.target.value = '';
    });
    $('evidence-input').addEventListener('change', (e) => {
      addEvidence(Array.from(e.target.files));
      e.target.value = '';
    });
    $('since-input').addEventListener('change', (e) => {
      state.since = e.target.files[0] || null;
      e.target.value = '';
      refresh();
    });
    $('since-clear').addEventListener('click', () => {
      state.since = null;
      refresh();
    });
    $('evidence-clear').addEventListener('click', () => {
      state.evidence = [];
      refresh();
    });
    $('all-checks').addEventListener('toggle', (e) => {
      const tbody = e.target.querySelector('tbody');
      if (e.target.open && tbody.children.length === 0) fill(tbody, lastChecks);
    });
    $('verify').addEventListener('click', verify);
    dropZone('bundle-drop', dropOnBundle);
    dropZone('evidence-drop', addEvidence);
    dropZone('pin-drop', (files) => {
      dropOnPin(files).catch((e) => status(`Cannot read the key file: ${e.message || e}`, true));
    });
    // A file dropped anywhere else must not make the browser leave the page to show it.
    window.addEventListener('dragover', (e) => e.preventDefault());
    window.addEventListener('drop', (e) => {
      e.preventDefault();
      status('Drop the bundle on box 1 and evidence files on box 2.', true);
    });
  }

  async function start() {
    wire();
    try {
      const b64 = $('wasm-base64').textContent.replace(/\s+/g, '');
      const bin = atob(b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
      await wasm_bindgen({ module_or_path: bytes });
      custos = wasm_bindgen;
      setState('ready');
      refresh();
    } catch (e) {
      status(`This browser cannot run the verifier (WebAssembly): ${e.message || e}`, true);
      setState('error');
    }
  }

  start();
})();
