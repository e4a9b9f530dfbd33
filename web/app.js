// The clearsight web app: plain ES module, no build step. Talks only to the public HTTP API:
// GET /api/v1/tasks (what this server can do), POST /api/v1/jobs/<task>, the job's SSE stream,
// its file URLs, GET /api/v1/jobs (this caller's jobs) and POST .../cancel. Pages: #restore (restore
// tasks, auto, forensics, faces), #watermark, #liveness, #jobs (history: re-download, cancel, delete).
// Option labels and help texts are the task table's (title and description of each option's schema).

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

/** The label of an option: its title from the task table, else its name. */
const labelOf = (name, schema) => schema.title || name;

/** One form control per option, from the task's JSON schema (enum -> select, boolean -> checkbox, number -> input), each with its label and help text. */
function optionControls(task) {
  const props = task.options?.properties || {};
  const required = new Set(task.options?.required || []);
  // Optional extra inputs (liveness: the enrolled photo) come first, each in its own file field.
  const extras = (task.extraInputs || []).map((x) =>
    el(
      'div',
      { class: 'option option-file', 'data-option': x.field },
      el(
        'label',
        { title: x.help },
        el('span', { class: 'option-label', text: x.label }),
        el('input', { type: 'file', 'data-extra': x.field, accept: x.kind === 'image' ? 'image/*' : '' }),
      ),
      el('small', { class: 'help', text: x.help }),
    ),
  );
  return [
    ...extras,
    ...Object.entries(props).map(([name, schema]) => {
      const help = schema.description || '';
      const label = labelOf(name, schema);
      const wrap = (control, checkbox = false) =>
        el(
          'div',
          { class: `option${checkbox ? ' option-check' : ''}`, 'data-option': name },
          checkbox
            ? el('label', { title: help }, control, ` ${label}`)
            : el('label', { title: help }, el('span', { class: 'option-label', text: `${label}${required.has(name) ? ' *' : ''}` }), control),
          el('small', { class: 'help', text: help }),
        );
      if (Array.isArray(schema.enum)) {
        const select = el('select', { name, title: help });
        // No default in the table (output format, vsr scale): the server decides unless one is picked.
        if (schema.default === undefined) select.append(el('option', { value: '', selected: true, text: '(default)' }));
        for (const v of schema.enum) select.append(el('option', { value: v, selected: v === schema.default, text: String(v) }));
        return wrap(select);
      }
      if (schema['x-kind'] === 'boolean') {
        // A flag that defaults to on is drawn checked and sends "false" when cleared.
        const on = schema.default === true || schema.default === 'true';
        return wrap(el('input', { type: 'checkbox', name, 'data-bool': on ? 'default-on' : '1', checked: on }), true);
      }
      if (schema.type === 'string') {
        // Secrets (the watermark key) are typed blind; other strings (source id, exposure times) in clear.
        return wrap(
          el('input', {
            name,
            title: help,
            type: schema.format === 'password' ? 'password' : 'text',
            placeholder: schema.default ?? '',
            autocomplete: 'off',
            required: required.has(name),
          }),
        );
      }
      const attrs = { name, title: help, type: 'number', step: schema.type === 'integer' ? '1' : 'any', placeholder: schema.default ?? 'default' };
      const lo = schema.minimum ?? schema.exclusiveMinimum;
      const hi = schema.maximum ?? schema.exclusiveMaximum;
      if (lo !== undefined && Math.abs(lo) < 1e15) attrs.min = lo;
      if (hi !== undefined && Math.abs(hi) < 1e15) attrs.max = hi;
      return wrap(el('input', attrs));
    }),
  ];
}

/** "12 s", "3 min 05 s". */
function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** The stages the server reports, in words (the CLI's progress says the same). */
const STAGE_WORDS = {
  'prepare model': 'loading the model',
  encode: 'writing the output',
  'convert model': 'converting the model to ONNX (first run only; cached after)',
  decode: 'reading the input',
  tiles: 'processing tiles',
  frames: 'processing frames',
  analyze: 'analysing the degradations',
  plan: 'running the planned steps',
  'veil removal': 'removing the rain veil',
  'track face': 'tracking the face',
  identity: 'checking the identity',
  embed: 'embedding the watermark',
  extract: 'reading the watermark',
  check: 'checking',
  'lowlight gamma': 'brightening (gamma)',
  'lowlight iagc': 'brightening (learned gamma)',
  'dehaze prior': 'dehazing (dark channel prior)',
  'forensics: faces': 'finding faces',
  'forensics: frames': 'scoring frames',
};

/**
 * A job's progress in words: "derain: loading the model", "processing tiles 3/12". A step of
 * `auto` arrives as "<task>:<stage>". One-shot stages (0/1, 1/1) are shown without the count.
 */
function stageText(progress) {
  if (!progress || progress.stage === 'done') return '';
  // An auto step's "derain:tiles"; "forensics: faces" is a stage name as it is.
  const m = /^([a-z-]+):(?! )(.*)$/.exec(progress.stage);
  const step = m ? `${m[1]}: ` : '';
  const stage = m ? m[2] : progress.stage;
  const count = progress.total > 1 ? ` ${progress.done}/${progress.total}` : '';
  return `${step}${STAGE_WORDS[stage] ?? stage}${count}`;
}

/**
 * What is left by the server's estimate, counted down since it came: the whole job
 * (totalEtaSeconds: this stage's rate over the stage weights still ahead) where it sends one,
 * else the stage (etaSeconds).
 */
function etaText(eta) {
  if (!eta) return '';
  const left = eta.seconds - (Date.now() - eta.at) / 1000;
  const what = eta.whole ? '' : ' in this stage';
  return left > 0.5 ? `about ${duration(left)} left${what}` : eta.whole ? 'finishing' : 'finishing this stage';
}

/** The ETA a progress event carries ({seconds, whole, at}), or null. */
function etaOf(progress) {
  if (progress?.totalEtaSeconds !== undefined) return { seconds: progress.totalEtaSeconds, whole: true, at: Date.now() };
  if (progress?.etaSeconds !== undefined) return { seconds: progress.etaSeconds, whole: false, at: Date.now() };
  return null;
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
      files.length > 1
        ? `${files.length} files (${files.map((f) => f.name).join(', ')})`
        : file
          ? `${file.name} (${Math.ceil(file.size / 1024)} KiB)`
          : 'Drop a file here, or click to choose one';
    runButton.disabled = !file;
  };
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
      if (input.dataset.extra) {
        if (input.files?.[0]) form.append(input.dataset.extra, input.files[0], input.files[0].name);
      } else if (input.dataset.bool) {
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
    $('.elapsed').textContent = '';
    runButton.disabled = true;
    startedAt = Date.now();
    try {
      const { id } = await api(`/api/v1/jobs/${task}`, { method: 'POST', body: form });
      follow(id, file);
    } catch (err) {
      fail(err.message);
    }
  };

  let startedAt = 0;
  let ticker = null;
  /** The server's last ETA ({seconds, at}), or null where the stage's total is unknown. */
  let eta = null;
  /** Elapsed time, and what is left of the stage by the server's estimate (when it sends one). */
  const tick = () => {
    const elapsed = (Date.now() - startedAt) / 1000;
    const left = etaText(eta);
    $('.elapsed').textContent = `${duration(elapsed)} elapsed${left ? `, ${left}` : ''}`;
  };
  const stopTicker = () => {
    clearInterval(ticker);
    ticker = null;
    $('.cancel').hidden = true;
  };

  const fail = (message) => {
    stopTicker();
    $('.state').textContent = 'failed';
    const p = $('.error');
    p.hidden = false;
    p.textContent = message;
    runButton.disabled = !file;
  };

  function follow(id, inputFile) {
    const events = new EventSource(withToken(`/api/v1/jobs/${id}/events`));
    eta = null;
    tick();
    ticker = setInterval(tick, 1000);
    const cancel = $('.cancel');
    cancel.hidden = false;
    cancel.disabled = false;
    cancel.onclick = async () => {
      cancel.disabled = true;
      try {
        await api(`/api/v1/jobs/${id}/cancel`, { method: 'POST' });
      } catch (err) {
        fail(err.message);
      }
    };
    events.addEventListener('status', (ev) => {
      const job = JSON.parse(ev.data);
      $('.state').textContent = job.state;
      section.dataset.state = job.state;
      if (job.progress) {
        // The whole job's fraction (stages weighted by the server): it never goes back.
        $('.bar').value = job.progress.fraction;
        $('.percent').textContent = `${Math.floor(job.progress.fraction * 100)} %`;
        $('.stage').textContent = stageText(job.progress);
        eta = etaOf(job.progress);
        tick();
      }
      if (job.state === 'done') {
        events.close();
        $('.bar').value = 1;
        $('.percent').textContent = '100 %';
        eta = null;
        tick();
        stopTicker();
        $('.elapsed').textContent = `done in ${duration(job.result?.seconds ?? (Date.now() - startedAt) / 1000)}`;
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
    const isVideo = Boolean(output?.type.startsWith('video/'));
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
      zoomer.reset();
    }
    const maps = r.files.filter((f) => f.role === 'map');
    $('.maps').hidden = maps.length === 0;
    $('.maps').replaceChildren(
      ...maps.map((m) => el('figure', {}, el('img', { src: withToken(m.url), alt: m.label || m.name }), el('figcaption', { text: m.label || m.name }))),
    );
    renderScores(r);
    renderPlan(r);
    renderVerdict(r, job, inputFile);
    $('.downloads').replaceChildren(
      ...r.files.map((f) =>
        el(
          'li',
          {},
          el('a', { href: withToken(`${f.url}?download`), download: `${job.task}-${f.name}`, text: `Download ${f.name}` }),
          ` (${Math.ceil(f.bytes / 1024)} KiB)`,
        ),
      ),
    );
    const { files, ...rest } = r;
    $('.json').textContent = JSON.stringify(rest, null, 1);
  }

  const zoomer = zoomAndPan($('.viewport'), $('.canvas'), $('.after'), $('.zoom-level'));
  for (const b of section.querySelectorAll('.zoom-bar button')) b.onclick = () => zoomer.set(b.dataset.zoom);

  function renderScores(r) {
    const box = $('.scores');
    box.hidden = !r.scores;
    if (!r.scores) return;
    const planned = new Set((r.plan || []).flatMap((s) => s.degradations || []));
    const rows = Object.entries(r.scores).map(([name, v]) =>
      el(
        'tr',
        {},
        el('td', { text: name }),
        el('td', {}, el('span', { class: `scorebar${planned.has(name) ? ' hit' : ''}`, style: `width:${Math.round(v * 200)}px` })),
        el('td', { text: v.toFixed(2) }),
      ),
    );
    box.replaceChildren(el('h3', { text: `Degradation scores (primary: ${r.primary})` }), el('table', {}, ...rows));
  }

  function renderPlan(r) {
    const box = $('.plan');
    box.hidden = !r.plan;
    if (!r.plan) return;
    box.replaceChildren(
      el('h3', { text: 'Plan' }),
      r.plan.length === 0
        ? el('p', { text: 'Looks clean: nothing to do, the picture is returned unchanged.' })
        : el('ol', {}, ...r.plan.map((s) => el('li', { text: `${s.task} (${s.model}): ${s.reason}` }))),
    );
  }

  /** The evidence of a verdict, as the CLI prints it: liveness, watermark, forensics, faces. */
  function renderVerdict(r, job, inputFile) {
    const box = $('.verdict');
    const lines =
      r.cues && r.experts
        ? livenessEvidence(r)
        : r.bitErrorRate !== undefined
          ? watermarkEvidence(r)
          : r.outcome !== undefined
            ? forensicsEvidence(r, job)
            : Array.isArray(r.faces)
              ? facesEvidence(r, inputFile)
              : r.verdict
                ? [el('p', { text: `Verdict: ${r.verdict}` })]
                : [];
    box.hidden = lines.length === 0;
    box.replaceChildren(...lines);
  }
}

const pct = (x, digits = 1) => `${(100 * x).toFixed(digits)}%`;

function livenessEvidence(v) {
  const out = [el('h3', { class: `verdict-${v.verdict}`, text: `Verdict: ${v.verdict} (score ${v.score.toFixed(3)})` })];
  if (v.reason) out.push(el('p', { text: `Reason: ${v.reason}` }));
  out.push(
    el('p', {
      text: `Face tracked in ${v.coverage.tracked}/${v.coverage.total} frames; decided by the ${v.decidedBy} expert (${Object.entries(v.experts)
        .map(([k, x]) => `${k} ${x.toFixed(3)}`)
        .join(', ')}).`,
    }),
  );
  // Cue contributions to the deciding expert's logit: + toward live, - toward spoof.
  const cues = Object.entries(v.cues)
    .sort((a, b) => Math.abs(b[1].contribution) - Math.abs(a[1].contribution))
    .slice(0, 8);
  const max = Math.max(1e-6, ...cues.map(([, c]) => Math.abs(c.contribution)));
  out.push(
    el('h4', { text: 'Strongest cues (+ live, − spoof)' }),
    el(
      'table',
      { class: 'cues' },
      ...cues.map(([name, c]) =>
        el(
          'tr',
          {},
          el('td', { text: name }),
          el(
            'td',
            {},
            el('span', { class: `cuebar ${c.contribution >= 0 ? 'live' : 'spoof'}`, style: `width:${Math.round((Math.abs(c.contribution) / max) * 160)}px` }),
          ),
          el('td', { text: `${c.contribution >= 0 ? '+' : '−'}${Math.abs(c.contribution).toFixed(2)}` }),
        ),
      ),
    ),
    el('h4', { text: 'Decisive frames' }),
    el(
      'ol',
      { class: 'frames' },
      ...v.frames.map((f) => el('li', { text: `frame #${f.index} at ${f.time.toFixed(2)} s: ${f.cue} (attention ${f.attention.toFixed(2)})` })),
    ),
  );
  // A pulse is shown only when it beats what noise reaches on a clip this long.
  out.push(
    el('p', {
      class: 'pulse',
      text:
        v.pulse.bpm === null
          ? `Pulse: not measured (SNR ${v.pulse.snr.toFixed(2)} is within what noise reaches, ${v.pulse.minSnr.toFixed(2)})`
          : `Pulse: ${v.pulse.bpm.toFixed(0)} bpm (SNR ${v.pulse.snr.toFixed(2)}, noise reaches ${v.pulse.minSnr.toFixed(2)})`,
    }),
  );
  if (v.temporal) out.push(el('p', { text: `Temporal model ${v.temporal.model}: P(live) ${v.temporal.score.toFixed(3)}` }));
  // With an enrolled photo: is the live face that person (the CLI's identity lines)?
  if (v.identity) {
    out.push(
      el('h4', { class: v.accepted ? 'verdict-live' : 'verdict-spoof', text: v.accepted ? 'Accepted: live, and the enrolled person' : 'Not accepted' }),
      el('p', {
        text: `Identity: similarity ${v.identity.similarity.toFixed(3)} (threshold ${v.identity.threshold}; lowest frame ${v.identity.minSimilarity.toFixed(2)}). ${v.summary ?? ''}`,
      }),
    );
  }
  out.push(el('p', { class: 'muted', text: `Decision head: ${v.head}` }));
  return out;
}

function watermarkEvidence(r) {
  const out = [el('h3', { class: `verdict-${r.verdict}`, text: `Verdict: ${r.verdict}` })];
  const rows = [
    ['Source', r.source ?? '—'],
    ['Bit error rate', r.bitErrorRate === null ? '—' : pct(r.bitErrorRate)],
    ['Confidence', pct(r.confidence, 0)],
    ['Mode', r.mode ?? '—'],
  ];
  if (r.identity?.checked)
    rows.push([
      'Identity',
      r.identity.facePresent
        ? `face ${r.identity.match ? 'matches' : 'does NOT match'} the carried identity (distance ${r.identity.distance}/64, limit ${r.identity.maxDistance})`
        : 'no face in the picture to compare',
    ]);
  out.push(el('table', { class: 'facts' }, ...rows.map(([k, v]) => el('tr', {}, el('th', { text: k }), el('td', { text: String(v) })))));
  if (r.reason) out.push(el('p', { text: r.reason }));
  return out;
}

function forensicsEvidence(r, job) {
  const out = [el('h3', { text: `Outcome: ${r.outcome}` })];
  if (typeof r.probability === 'number') {
    out.push(
      el('p', {
        class: 'probability',
        text: `Probability of manipulation: ${pct(r.probability)}${r.interval ? ` (sampling interval ${pct(r.interval[0])} to ${pct(r.interval[1])})` : ''}`,
      }),
    );
  }
  if (r.summary) out.push(el('p', { text: r.summary }));
  if (typeof r.probability === 'number') {
    // What the interval is (frames of a video), or why a single image has none; then how often
    // held-out items scored like this were manipulated: the numbers to weigh the probability with.
    if (r.intervalNote) out.push(el('p', { class: 'interval-note', text: `Interval: ${r.interval ? '' : 'none. '}${r.intervalNote}` }));
    const rel = r.reliability;
    if (rel)
      out.push(
        el('p', {
          class: 'reliability',
          text: `Reliability: of the ${rel.neighbours} held-out items scored nearest (${pct(rel.scoreRange[0])} to ${pct(rel.scoreRange[1])}), ${rel.manipulated} were manipulated: ${pct(rel.rate)}, exact 95% interval ${pct(rel.interval[0])} to ${pct(rel.interval[1])}. ${rel.caveat}`,
        }),
      );
  }
  // The detector's measured error rates on real manipulated media, and what it was not tested on.
  if (r.validation?.statement) out.push(el('p', { class: 'muted', text: r.validation.statement }));
  if (r.watermark && r.watermark.verdict !== 'not checked')
    out.push(el('p', { text: `Watermark: ${r.watermark.verdict}${r.watermark.source ? ` (source "${r.watermark.source}")` : ''}` }));
  const pdf = job?.result?.files?.find((f) => f.name === 'report.pdf');
  if (pdf)
    out.push(el('p', {}, el('a', { class: 'report-link', href: withToken(pdf.url), target: '_blank', rel: 'noopener', text: 'Open the case report (PDF)' })));
  return out;
}

const SVG = 'http://www.w3.org/2000/svg';

/** The picture with each face's box drawn over it (SVG in picture coordinates). */
function facesOverlay(r, inputFile) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${r.width} ${r.height}`);
  svg.setAttribute('class', 'face-boxes');
  r.faces.forEach((f, i) => {
    const rect = document.createElementNS(SVG, 'rect');
    for (const [k, v] of Object.entries({ x: f.box.x, y: f.box.y, width: f.box.width, height: f.box.height })) rect.setAttribute(k, String(v));
    const label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', String(f.box.x));
    label.setAttribute('y', String(Math.max(10, f.box.y - 3)));
    label.textContent = `#${i + 1} q ${f.quality}`;
    svg.append(rect, label);
  });
  return el('div', { class: 'faces-view', style: `max-width:${r.width}px` }, el('img', { src: URL.createObjectURL(inputFile), alt: 'faces found' }), svg);
}

function facesEvidence(r, inputFile) {
  return [
    el('h3', { text: `${r.faces.length} face${r.faces.length === 1 ? '' : 's'} in ${r.width}x${r.height}` }),
    ...(inputFile && r.faces.length ? [facesOverlay(r, inputFile)] : []),
    el(
      'table',
      { class: 'facts' },
      el('tr', {}, ...['box', 'score', 'quality', 'roll'].map((h) => el('th', { text: h }))),
      ...r.faces.map((f) =>
        el(
          'tr',
          {},
          el('td', { text: `${f.box.x},${f.box.y} ${f.box.width}x${f.box.height}` }),
          el('td', { text: f.score }),
          el('td', { text: f.quality }),
          el('td', { text: `${f.roll}°` }),
        ),
      ),
    ),
  ];
}

/**
 * Zoom and pan over the before/after stage: native scale (1:1) by default, wheel to zoom around
 * the pointer, drag to pan, buttons for fit, 1:1, in and out.
 */
function zoomAndPan(viewport, canvas, img, readout) {
  const view = { z: 1, x: 0, y: 0 };
  const apply = () => {
    canvas.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.z})`;
    readout.textContent = `${Math.round(view.z * 100)}%`;
  };
  const size = () => [img.naturalWidth || 1, img.naturalHeight || 1];
  const center = () => {
    const [w, h] = size();
    view.x = (viewport.clientWidth - w * view.z) / 2;
    view.y = (viewport.clientHeight - h * view.z) / 2;
  };
  const zoomAt = (factor, cx, cy) => {
    const z = Math.min(32, Math.max(0.05, view.z * factor));
    view.x = cx - ((cx - view.x) * z) / view.z;
    view.y = cy - ((cy - view.y) * z) / view.z;
    view.z = z;
    apply();
  };
  const set = (what) => {
    const [w, h] = size();
    if (what === 'fit') view.z = Math.min(viewport.clientWidth / w, viewport.clientHeight / h);
    else if (what === '1') view.z = 1;
    else return zoomAt(what === 'in' ? 1.5 : 1 / 1.5, viewport.clientWidth / 2, viewport.clientHeight / 2);
    center();
    apply();
  };
  viewport.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const r = viewport.getBoundingClientRect();
      zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
    },
    { passive: false },
  );
  let drag = null;
  viewport.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX - view.x, y: e.clientY - view.y };
    viewport.setPointerCapture(e.pointerId);
    viewport.classList.add('dragging');
  });
  viewport.addEventListener('pointermove', (e) => {
    if (!drag) return;
    view.x = e.clientX - drag.x;
    view.y = e.clientY - drag.y;
    apply();
  });
  const end = () => {
    drag = null;
    viewport.classList.remove('dragging');
  };
  viewport.addEventListener('pointerup', end);
  viewport.addEventListener('pointercancel', end);
  return {
    set,
    reset: () => {
      const ready = () => {
        // The viewport is as tall as the picture at 1:1 (within limits), so small pictures leave no empty band.
        const [, h] = size();
        viewport.style.height = `${Math.max(160, Math.min(h + 16, Math.round(window.innerHeight * 0.7)))}px`;
        view.z = 1;
        center();
        apply();
      };
      if (img.complete && img.naturalWidth) ready();
      else img.addEventListener('load', ready, { once: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Job history: this caller's jobs (GET /api/v1/jobs), with re-download, cancel and delete.

async function renderJobs() {
  const box = document.getElementById('jobs-list');
  let jobs;
  try {
    ({ jobs } = await api('/api/v1/jobs'));
  } catch (err) {
    box.replaceChildren(el('p', { class: 'error', text: `Cannot list the jobs: ${err.message}` }));
    return;
  }
  if (jobs.length === 0) {
    box.replaceChildren(el('p', { class: 'muted', text: 'No jobs yet: run one from the other pages.' }));
    return;
  }
  const act = (label, cls, fn) => {
    const b = el('button', { type: 'button', class: cls, text: label });
    b.onclick = async () => {
      b.disabled = true;
      try {
        await fn();
      } catch (err) {
        alert(err.message);
      }
      void renderJobs();
    };
    return b;
  };
  const rows = jobs.map((j) => {
    const running = j.state === 'queued' || j.state === 'running';
    const progress = j.progress ? [`${Math.floor((j.progress.fraction ?? 0) * 100)} %`, stageText(j.progress), etaText(etaOf(j.progress))] : [];
    const state = running && j.progress ? [j.state, ...progress].filter(Boolean).join(', ') : j.state === 'failed' ? `failed: ${j.error?.code ?? ''}` : j.state;
    const files = j.result?.files ?? [];
    return el(
      'tr',
      { 'data-id': j.id, 'data-state': j.state },
      el('td', { text: new Date(j.createdAt).toLocaleTimeString() }),
      el('td', { text: j.task }),
      el('td', { text: (j.inputs || []).join(', ') }),
      el('td', { class: 'job-state', text: state }),
      el('td', { text: j.result?.seconds !== undefined ? duration(j.result.seconds) : '' }),
      el('td', { class: 'job-files' }, ...files.map((f) => el('a', { href: withToken(`${f.url}?download`), download: `${j.task}-${f.name}`, text: f.name }))),
      el(
        'td',
        {},
        running ? act('Cancel', 'job-cancel', () => api(`/api/v1/jobs/${j.id}/cancel`, { method: 'POST' })) : '',
        running ? '' : act('Delete', 'job-delete', () => fetch(`/api/v1/jobs/${j.id}`, { method: 'DELETE', headers: authHeaders() })),
      ),
    );
  });
  box.replaceChildren(
    el('table', { class: 'jobs' }, el('tr', {}, ...['started', 'task', 'input', 'state', 'time', 'files', ''].map((h) => el('th', { text: h }))), ...rows),
  );
}

let jobsTimer = null;
function route() {
  const page = (location.hash || '#restore').slice(1);
  for (const s of document.querySelectorAll('.page')) s.hidden = s.id !== `page-${page}`;
  for (const a of document.querySelectorAll('nav a[data-page]')) a.classList.toggle('active', a.dataset.page === page);
  clearInterval(jobsTimer);
  if (page === 'jobs') {
    void renderJobs();
    jobsTimer = setInterval(renderJobs, 2000);
  }
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
  for (const section of document.querySelectorAll('.page[data-title]')) mountRunner(section);
  window.addEventListener('hashchange', route);
  route();
  document.body.dataset.ready = '1';
}

start();
