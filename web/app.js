// The clearsight web app: plain ES module, no build step. Talks only to the public HTTP API:
// GET /api/v1/tasks (what this server can do), POST /api/v1/jobs/<task>, the job's SSE stream,
// its file URLs. Pages: #restore (restore tasks, auto, forensics), #watermark, #liveness.

const state = { tasks: [], limits: {}, token: localStorage.getItem('clearsight-token') || '' };

const authHeaders = () => (state.token ? { Authorization: `Bearer ${state.token}` } : {});
const withToken = (url) => (state.token ? `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(state.token)}` : url);

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) showTokenBox();
  if (!res.ok) throw new Error(body?.error?.message || `HTTP ${res.status}`);
  return body;
}

function showTokenBox() {
  const box = document.getElementById('token-box');
  box.hidden = false;
  document.getElementById('token-save').onclick = () => {
    state.token = document.getElementById('token').value.trim();
    localStorage.setItem('clearsight-token', state.token);
    location.reload();
  };
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(c);
  return e;
}

/** One form control per option, from the task's JSON schema (enum -> select, boolean -> checkbox, number -> input). */
function optionControls(task) {
  const props = task.options?.properties || {};
  return Object.entries(props).map(([name, schema]) => {
    const title = schema.description || '';
    if (Array.isArray(schema.enum)) {
      const select = el('select', { name, title });
      for (const v of schema.enum) select.append(el('option', { value: v, selected: v === schema.default, text: v }));
      return el('label', { title }, `${name} `, select);
    }
    if (schema['x-kind'] === 'boolean') {
      // A flag that defaults to on is drawn checked and sends "false" when cleared.
      const on = schema.default === true || schema.default === 'true';
      return el('label', { title }, el('input', { type: 'checkbox', name, 'data-bool': on ? 'default-on' : '1', checked: on }), ` ${name}`);
    }
    if (schema.type === 'string') {
      // Secrets (the watermark key) are typed blind; other strings (source id, exposure times) in clear.
      return el('label', { title }, `${name} `, el('input', { name, title, type: name === 'key' ? 'password' : 'text', placeholder: schema.default ?? '', autocomplete: 'off' }));
    }
    const attrs = { name, title, type: 'number', step: schema.type === 'integer' ? '1' : 'any', placeholder: schema.default ?? '' };
    if (schema.minimum !== undefined && Math.abs(schema.minimum) < 1e15) attrs.min = schema.minimum;
    if (schema.maximum !== undefined && Math.abs(schema.maximum) < 1e15) attrs.max = schema.maximum;
    return el('label', { title }, `${name} `, el('input', attrs));
  });
}

function mountRunner(section) {
  const node = document.getElementById('runner').content.cloneNode(true);
  section.append(node);
  const $ = (sel) => section.querySelector(sel);
  $('.title').textContent = section.dataset.title;
  const only = section.dataset.only ? section.dataset.only.split(',') : null;
  const kinds = (section.dataset.tasks || '').split(',');
  const exclude = (section.dataset.exclude || '').split(',');
  const wanted = state.tasks.filter((t) => (only ? only.includes(t.name) : kinds.includes(t.input) && !exclude.includes(t.name)));
  const available = wanted.filter((t) => t.available);
  if (available.length === 0) {
    const u = $('.unavailable');
    u.hidden = false;
    u.textContent = `Not available on this server: ${wanted.map((t) => t.name).join(', ') || section.dataset.only} is not installed here.`;
    $('.job-form').hidden = true;
    return;
  }
  const select = $('.task');
  for (const t of available) select.append(el('option', { value: t.name, text: t.name }));
  let file = null;
  let files = [];
  const fileInput = $('.file');
  const drop = $('.drop');
  const runButton = $('.run');

  const renderOptions = () => {
    const task = available.find((t) => t.name === select.value);
    $('.summary').textContent = task.summary;
    const fs = $('.options');
    fs.replaceChildren(...optionControls(task));
    fileInput.accept = task.input === 'video' ? 'video/*' : task.input === 'media' ? 'image/*,video/*' : 'image/*';
    // HDR brackets: several exposures of one scene, sent as `files`.
    fileInput.multiple = task.input === 'images';
  };
  select.onchange = renderOptions;
  renderOptions();

  const setFiles = (list) => {
    files = [...list];
    file = files[0] || null;
    $('.drop-text').textContent =
      files.length > 1 ? `${files.length} files (${files.map((f) => f.name).join(', ')})` : file ? `${file.name} (${Math.ceil(file.size / 1024)} KiB)` : 'Drop a file here, or click to choose one';
    runButton.disabled = !file;
  };
  const setFile = (f) => setFiles(f ? [f] : []);
  fileInput.onchange = () => setFiles(fileInput.files);
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) setFiles(e.dataTransfer.files);
  });
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') fileInput.click();
  });

  $('.job-form').onsubmit = async (e) => {
    e.preventDefault();
    if (!file) return;
    const task = select.value;
    const form = new FormData();
    const taskDef = available.find((t) => t.name === task);
    if (taskDef.input === 'images') for (const f of files) form.append('files', f, f.name);
    else form.append('file', file, file.name);
    for (const input of $('.options').querySelectorAll('input, select')) {
      if (input.dataset.bool) {
        if (input.checked) form.append(input.name, 'true');
        else if (input.dataset.bool === 'default-on') form.append(input.name, 'false');
      } else if (input.value !== '') form.append(input.name, input.value);
    }
    $('.status').hidden = false;
    $('.result').hidden = true;
    $('.error').hidden = true;
    section.dataset.state = 'uploading';
    $('.bar').value = 0;
    $('.state').textContent = 'uploading';
    $('.stage').textContent = '';
    runButton.disabled = true;
    try {
      const { id } = await api(`/api/v1/jobs/${task}`, { method: 'POST', body: form });
      follow(id, file);
    } catch (err) {
      fail(err.message);
    }
  };

  const fail = (message) => {
    $('.state').textContent = 'failed';
    const p = $('.error');
    p.hidden = false;
    p.textContent = message;
    runButton.disabled = !file;
  };

  function follow(id, inputFile) {
    const events = new EventSource(withToken(`/api/v1/jobs/${id}/events`));
    events.addEventListener('status', (ev) => {
      const job = JSON.parse(ev.data);
      $('.state').textContent = job.state;
      section.dataset.state = job.state;
      if (job.progress) {
        $('.bar').value = job.progress.fraction;
        $('.stage').textContent = `${job.progress.stage} ${job.progress.done}/${job.progress.total}`;
      }
      if (job.state === 'done') {
        events.close();
        $('.bar').value = 1;
        showResult(job, inputFile);
        runButton.disabled = false;
      } else if (job.state === 'failed') {
        events.close();
        fail(`${job.error?.message ?? 'failed'} [${job.error?.code ?? ''}]`);
      }
    });
    events.onerror = () => {
      // The stream ends after the last event; only report if the job did not finish.
      if (section.dataset.state !== 'done' && section.dataset.state !== 'failed') $('.stage').textContent = '(reconnecting)';
    };
  }

  function showResult(job, inputFile) {
    const r = job.result;
    $('.result').hidden = false;
    const output = r.files.find((f) => f.role === 'output');
    const isVideo = Boolean(output && output.type.startsWith('video/'));
    const video = $('.video-out');
    video.hidden = !isVideo;
    if (isVideo) video.src = withToken(output.url);
    const compare = $('.compare');
    compare.hidden = !output || isVideo;
    if (output && !isVideo) {
      $('.before').src = URL.createObjectURL(inputFile);
      $('.after').src = withToken(output.url);
      const slider = $('.slider');
      const clip = $('.before-clip');
      const apply = () => (clip.style.clipPath = `inset(0 ${100 - slider.value}% 0 0)`);
      slider.oninput = apply;
      apply();
    }
    const maps = r.files.filter((f) => f.role === 'map');
    $('.maps').hidden = maps.length === 0;
    $('.maps').replaceChildren(...maps.map((m) => el('figure', {}, el('img', { src: withToken(m.url), alt: m.label || m.name }), el('figcaption', { text: m.label || m.name }))));
    renderScores(r);
    renderPlan(r);
    renderVerdict(r);
    $('.downloads').replaceChildren(...r.files.map((f) => el('li', {}, el('a', { href: withToken(`${f.url}?download`), download: `${job.task}-${f.name}`, text: `Download ${f.name}` }), ` (${Math.ceil(f.bytes / 1024)} KiB)`)));
    const { files, ...rest } = r;
    $('.json').textContent = JSON.stringify(rest, null, 1);
  }

  function renderScores(r) {
    const box = $('.scores');
    box.hidden = !r.scores;
    if (!r.scores) return;
    const planned = new Set((r.plan || []).flatMap((s) => s.degradations || []));
    const rows = Object.entries(r.scores).map(([name, v]) =>
      el('tr', {}, el('td', { text: name }), el('td', {}, el('span', { class: `scorebar${planned.has(name) ? ' hit' : ''}`, style: `width:${Math.round(v * 200)}px` })), el('td', { text: v.toFixed(2) })),
    );
    box.replaceChildren(el('h3', { text: `Degradation scores (primary: ${r.primary})` }), el('table', {}, ...rows));
  }

  function renderPlan(r) {
    const box = $('.plan');
    box.hidden = !r.plan;
    if (!r.plan) return;
    box.replaceChildren(
      el('h3', { text: 'Plan' }),
      r.plan.length === 0 ? el('p', { text: 'Looks clean: nothing to do, the picture is returned unchanged.' }) : el('ol', {}, ...r.plan.map((s) => el('li', { text: `${s.task} (${s.model}): ${s.reason}` }))),
    );
  }

  function renderVerdict(r) {
    const box = $('.verdict');
    const hasVerdict = r.outcome !== undefined || r.verdict !== undefined;
    box.hidden = !hasVerdict;
    if (!hasVerdict) return;
    const lines = [];
    if (r.verdict) lines.push(el('p', { text: `Verdict: ${r.verdict}` }));
    if (r.outcome) lines.push(el('p', { text: `Outcome: ${r.outcome}` }));
    if (typeof r.probability === 'number') lines.push(el('p', { text: `Probability of manipulation: ${(100 * r.probability).toFixed(1)}%${r.interval ? ` [${(100 * r.interval[0]).toFixed(1)}, ${(100 * r.interval[1]).toFixed(1)}]` : ''}` }));
    if (r.summary) lines.push(el('p', { text: r.summary }));
    // Forensics: the detector's measured error rates on real manipulated media, and what it was not tested on.
    if (r.validation?.statement) lines.push(el('p', { text: r.validation.statement }));
    box.replaceChildren(...lines);
  }
}

function route() {
  const page = (location.hash || '#restore').slice(1);
  for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== `page-${page}`;
  for (const a of document.querySelectorAll('nav a[data-page]')) a.classList.toggle('active', a.dataset.page === page);
}

async function start() {
  try {
    const listing = await api('/api/v1/tasks');
    state.tasks = listing.tasks;
    state.limits = listing.limits;
  } catch (err) {
    document.querySelector('main').prepend(el('p', { class: 'error', text: `Cannot list the tasks: ${err.message}` }));
    return;
  }
  for (const section of document.querySelectorAll('.page')) mountRunner(section);
  window.addEventListener('hashchange', route);
  route();
  document.body.dataset.ready = '1';
}

start();
