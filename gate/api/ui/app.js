// The approvers' page. Talks only to the gate's /api/v1/ with the token its user typed
// (sessionStorage, sent as an Authorization header). Every string that comes from a job
// or a record is written with textContent, never parsed as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'jobgate.token';
  const POLL_MS = 5000;
  const PAGE_SIZE = 50;

  const $ = (id) => document.getElementById(id);
  const state = {
    token: '',
    roles: [],
    view: 'queue',
    queue: { tokens: [''], etag: '', data: null },
    history: { tokens: [''] },
    timer: 0,
    rollback: null,  // {from, to} while the confirmation is open
  };

  // --- transport -------------------------------------------------------------------

  // A token may cross the network only over https, or stay on this machine.
  function transportIsSafe() {
    if (location.protocol === 'https:') return true;
    const host = location.hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' ||
      /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // fetch with the bearer token; answers {status, body, etag}. 304 answers body null.
  async function api(method, path, { body, etag } = {}) {
    if (!transportIsSafe()) {
      throw new ApiError(0, 'insecure', 'Refusing to send a token over plain http to ' +
        location.host + '. Serve the gate over https (http.tls_cert).');
    }
    const headers = { 'Authorization': 'Bearer ' + state.token };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (etag) headers['If-None-Match'] = etag;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
      });
    } catch (e) {
      throw new ApiError(0, 'unreachable', 'The gate cannot be reached: ' + e.message);
    }
    if (response.status === 304) return { status: 304, body: null, etag };
    let parsed = null;
    try {
      parsed = await response.json();
    } catch (e) {
      parsed = null;
    }
    if (!response.ok) {
      const code = parsed && parsed.code ? parsed.code : 'http_' + response.status;
      const message = parsed && parsed.error ? parsed.error : response.statusText;
      throw new ApiError(response.status, code, message);
    }
    return { status: response.status, body: parsed, etag: response.headers.get('ETag') || '' };
  }

  // Refusals in words (docs/api.md, the approvals table).
  function explain(error) {
    const words = {
      self_approval: 'Refused: you may not approve a job you own or that your own agent ' +
        'submitted. Someone else has to approve it.',
      wrong_role: 'Refused: this job\'s rule needs an approver role your token does not hold.',
      stale_snapshot: 'Refused: the policy changed since this job was held, and the active ' +
        'snapshot now denies it. It can still be rejected, or left to expire.',
      expired: 'Refused: this approval expired before the decision; it is now resolved as ' +
        'expired.',
      digest_mismatch: 'Refused: the job no longer matches what is shown here. Reload the ' +
        'queue and review it again.',
      already_resolved: 'Already resolved by someone else (or by expiry).',
      conflict: 'Someone else resolved this job at the same moment; theirs won.',
      not_found: 'No such held job (it may have been resolved and removed).',
      unauthenticated: 'The token was not accepted. Sign in again.',
      permission_denied: 'Your token does not have the role for this.',
      forbidden: 'Your token does not have the role for this.',
      rate_limited: 'Too many calls from this token; try again in a few seconds.',
    };
    const text = words[error.code] || error.message || 'The call failed.';
    return error.code in words && error.message ? text + ' (gate: ' + error.message + ')' : text;
  }

  // --- formatting ------------------------------------------------------------------

  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    if (m > 0) return m + 'm ' + (s % 60) + 's';
    return s + 's';
  }

  function when(text) {
    if (!text) return '';
    const t = new Date(text);
    return isNaN(t) ? String(text) : t.toLocaleString();
  }

  // One shell word as it would be typed.
  function shellWord(word) {
    const w = String(word);
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : '\'' + w.replace(/'/g, '\'\\\'\'') + '\'';
  }

  function text(tag, content, className) {
    const el = document.createElement(tag);
    el.textContent = content;
    if (className) el.className = className;
    return el;
  }

  function asText(value) {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return value.map((v) => asText(v)).join('\n');
    return JSON.stringify(value);
  }

  // The arguments an approver needs first, each under its own heading; the rest as
  // name: JSON lines.
  function renderArgs(args, into) {
    const known = [
      ['command', 'Command line', (v) => Array.isArray(v) ? v.map(shellWord).join(' ') : asText(v)],
      ['sql', 'SQL', asText],
      ['query', 'Query', asText],
      ['path', 'Path', asText],
      ['file_path', 'Path', asText],
      ['url', 'URL', asText],
      ['diff_lines', 'Diff size', (v) => asText(v) + ' lines'],
    ];
    const shown = new Set();
    const list = document.createElement('dl');
    list.className = 'arg-list';
    for (const [key, label, format] of known) {
      if (!args || !(key in args)) continue;
      shown.add(key);
      list.append(text('dt', label));
      const dd = document.createElement('dd');
      dd.append(text('pre', format(args[key]), 'arg arg-' + key));
      list.append(dd);
    }
    for (const key of Object.keys(args || {}).sort()) {
      if (shown.has(key)) continue;
      list.append(text('dt', key));
      const dd = document.createElement('dd');
      dd.append(text('pre', asText(args[key]), 'arg'));
      list.append(dd);
    }
    if (!list.childElementCount) list.append(text('dd', 'No arguments.'));
    into.replaceChildren(list);
  }

  // --- views -----------------------------------------------------------------------

  function show(el, visible) {
    el.hidden = !visible;
  }

  function setError(id, message) {
    const el = $(id);
    el.textContent = message || '';
    show(el, !!message);
  }

  function canApprove() {
    return state.roles.includes('approver');
  }

  function fillCard(card, record, now) {
    const job = record.job || {};
    const actor = job.actor || {};
    const decision = record.decision || {};
    const approval = record.approval || {};
    const set = (cls, value) => {
      card.querySelector('.' + cls).textContent = value === undefined || value === '' ? '—' : value;
    };
    set('f-topic', job.topic || record.subject);
    set('f-risk', 'risk ' + (decision.risk_score || 0));
    set('f-job', job.job_id + (job.tenant_id && job.tenant_id !== 'default' ? ' (tenant ' + job.tenant_id + ')' : ''));
    set('f-agent', actor.agent_id);
    set('f-session', actor.session_id);
    set('f-owner', actor.owner);
    set('f-env', job.environment);
    set('f-rule', decision.matched_rule);
    set('f-reason', decision.reason);
    const role = decision.approver_role;
    const lacking = role && !state.roles.includes(role);
    set('f-role', role ? role + (lacking && canApprove() ? ' (your token does not hold it)' : '') : 'any approver');
    set('f-snapshot', (approval.held_snapshot || decision.snapshot || '') +
      (approval.held_snapshot_hash ? ' ' + approval.held_snapshot_hash.slice(0, 19) + '…' : ''));
    const held = approval.held_at ? new Date(approval.held_at) : null;
    const expires = approval.expires_at ? new Date(approval.expires_at) : null;
    set('f-held', held ? duration(now - held) + ' (since ' + held.toLocaleString() + ')' : '');
    set('f-expires', expires ? (expires > now ? duration(expires - now) + ' (at ' + expires.toLocaleString() + ')' : 'expired') : '');
    const matched = card.querySelector('.f-matched');
    const rules = decision.matched_rules || [];
    if (rules.length) {
      const ul = document.createElement('ul');
      for (const r of rules) ul.append(text('li', r));
      matched.replaceChildren(ul);
    } else {
      matched.textContent = '—';
    }
    set('f-digest', approval.job_digest);
    renderArgs(job.args, card.querySelector('.f-args'));
    card.querySelector('.f-args-json').textContent = JSON.stringify(job.args || {}, null, 2);
  }

  let cardSerial = 0;
  function makeCard(record, now) {
    const card = $('card-template').content.firstElementChild.cloneNode(true);
    const id = 'card-' + (++cardSerial);
    card.setAttribute('aria-labelledby', id + '-title');
    card.querySelector('.card-title').id = id + '-title';
    card.dataset.jobId = (record.job || {}).job_id || '';
    fillCard(card, record, now);
    if (canApprove()) {
      const form = card.querySelector('.decide');
      const input = form.querySelector('.reason');
      input.id = id + '-reason';
      form.querySelector('.reason-label').htmlFor = input.id;
      form.hidden = false;
      form.addEventListener('submit', (e) => e.preventDefault());
      form.querySelector('.approve').addEventListener('click', () => decide(card, record, 'approve'));
      form.querySelector('.reject').addEventListener('click', () => decide(card, record, 'reject'));
    } else {
      card.querySelector('.decide').remove();
    }
    return card;
  }

  async function decide(card, record, verb) {
    const job = record.job || {};
    const outcome = card.querySelector('.outcome');
    const buttons = card.querySelectorAll('.decide button');
    buttons.forEach((b) => { b.disabled = true; });
    outcome.className = 'outcome';
    outcome.textContent = verb === 'approve' ? 'Approving…' : 'Rejecting…';
    try {
      await api('POST', '/api/v1/approvals:' + verb, {
        body: {
          job_id: job.job_id,
          tenant_id: job.tenant_id || 'default',
          reason: card.querySelector('.reason').value,
          job_digest: (record.approval || {}).job_digest || '',
        },
      });
      outcome.classList.add('ok');
      outcome.textContent = verb === 'approve' ? 'Approved: released to its worker.' : 'Rejected.';
      state.queue.etag = '';
      setTimeout(() => refreshQueue(), 1200);
    } catch (e) {
      outcome.classList.add('bad');
      outcome.textContent = explain(e);
      if (e.code === 'unauthenticated') signOut(explain(e));
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function renderQueue() {
    const data = state.queue.data;
    if (!data) return;
    const now = new Date();
    const list = $('queue-list');
    // Keep the card (and what is typed in it) of a job still pending.
    const existing = new Map();
    for (const card of list.children) existing.set(card.dataset.jobId, card);
    const cards = [];
    for (const record of data.approvals || []) {
      const id = (record.job || {}).job_id || '';
      const old = existing.get(id);
      if (old && !old.querySelector('.outcome.ok')) {
        fillCard(old, record, now);
        cards.push(old);
      } else {
        cards.push(makeCard(record, now));
      }
    }
    list.replaceChildren(...cards);
    const pending = Number(data.pending || 0);
    $('queue-count').textContent = pending === 1 ? '1 job waiting.' : pending + ' jobs waiting.';
    $('queue-updated').textContent = 'Updated ' + now.toLocaleTimeString() + '.';
    show($('queue-empty'), cards.length === 0);
    show($('queue-next'), !!data.next_page_token);
    show($('queue-first'), state.queue.tokens.length > 1);
  }

  async function refreshQueue() {
    const page = state.queue.tokens[state.queue.tokens.length - 1];
    const query = '?include_resolved=false&page_size=' + PAGE_SIZE +
      (page ? '&page_token=' + encodeURIComponent(page) : '');
    try {
      const r = await api('GET', '/api/v1/approvals' + query, { etag: state.queue.etag });
      if (r.status !== 304) {
        state.queue.data = r.body;
        state.queue.etag = r.etag;
      }
      setError('queue-error', '');
      renderQueue();
    } catch (e) {
      setError('queue-error', explain(e));
      if (e.code === 'unauthenticated') signOut(explain(e));
    }
  }

  async function refreshHistory() {
    const page = state.history.tokens[state.history.tokens.length - 1];
    const query = '?include_resolved=true&page_size=' + PAGE_SIZE +
      (page ? '&page_token=' + encodeURIComponent(page) : '');
    try {
      const r = await api('GET', '/api/v1/approvals' + query);
      const rows = [];
      for (const record of (r.body.approvals || [])) {
        if (!record.status || record.status === 'PENDING') continue;
        const job = record.job || {};
        const approval = record.approval || {};
        const tr = document.createElement('tr');
        tr.append(text('td', job.job_id || ''), text('td', job.topic || record.subject || ''),
          text('td', record.status), text('td', approval.approver || (record.status === 'EXPIRED' ? '(expiry)' : '')),
          text('td', when(approval.resolved_at)), text('td', approval.reason || ''));
        rows.push(tr);
      }
      $('history-body').replaceChildren(...rows);
      show($('history-table'), rows.length > 0);
      show($('history-empty'), rows.length === 0);
      show($('history-next'), !!r.body.next_page_token);
      show($('history-first'), state.history.tokens.length > 1);
      state.history.next = r.body.next_page_token || '';
      setError('history-error', '');
    } catch (e) {
      setError('history-error', explain(e));
      if (e.code === 'unauthenticated') signOut(explain(e));
    }
  }

  // Each cell names its column (data-label), which narrow screens show beside the value
  // when a table's rows are stacked.
  function labelCells(tr, tableId) {
    const heads = document.querySelectorAll('#' + tableId + ' thead th');
    [...tr.children].forEach((cell, i) => {
      if (heads[i]) cell.dataset.label = heads[i].textContent;
    });
  }

  function canRollBack() {
    return state.roles.includes('policy-admin');
  }

  async function refreshPolicy() {
    try {
      const r = await api('GET', '/api/v1/policy/snapshots');
      const list = r.body || {};
      $('policy-active').textContent = list.active || '—';
      $('policy-shadow').textContent = list.shadow || 'none';
      const admin = canRollBack();
      for (const th of document.querySelectorAll('#policy-table .admin-only')) show(th, admin);
      const rows = [];
      let seenActive = false;  // newest first: what follows the active one is earlier
      for (const s of list.snapshots || []) {
        const tr = document.createElement('tr');
        const name = s.name + (s.name === list.active ? ' (active)' : '') +
          (s.name === list.shadow ? ' (shadow)' : '');
        tr.append(text('td', name), text('td', when(s.created_at)), text('td', s.author || ''),
          text('td', String(s.rule_count || 0)), text('td', s.parent || ''), text('td', s.note || ''));
        if (admin) {
          const td = document.createElement('td');
          if (seenActive && list.active) {
            const button = text('button', 'Roll back to ' + s.name, 'rollback');
            button.type = 'button';
            button.addEventListener('click', () => askRollback(list.active, s.name));
            td.append(button);
          }
          tr.append(td);
        }
        if (s.name === list.active) seenActive = true;
        labelCells(tr, 'policy-table');
        rows.push(tr);
      }
      $('policy-body').replaceChildren(...rows);
      setError('policy-error', '');
    } catch (e) {
      setError('policy-error', explain(e));
      if (e.code === 'unauthenticated') signOut(explain(e));
    }
  }

  // The confirmation names both snapshots; only its Confirm button calls the API.
  function askRollback(from, to) {
    const dialog = $('rollback-dialog');
    state.rollback = { from, to };
    $('rollback-text').textContent = 'Make ' + to + ' the active policy in place of ' + from + '?';
    $('rollback-from').textContent = from;
    $('rollback-to').textContent = to;
    $('rollback-note').value = '';
    dialog.showModal();
    $('rollback-cancel').focus();
  }

  async function confirmRollback() {
    const target = state.rollback;
    $('rollback-dialog').close();
    if (!target) return;
    state.rollback = null;
    const outcome = $('policy-outcome');
    outcome.className = 'outcome';
    outcome.textContent = 'Rolling back from ' + target.from + ' to ' + target.to + '…';
    try {
      const r = await api('POST', '/api/v1/policy/rollback', {
        body: { target_snapshot: target.to, note: $('rollback-note').value },
      });
      const done = r.body || {};
      outcome.classList.add('ok');
      outcome.textContent = 'Rolled back: ' + (done.to_snapshot || target.to) +
        ' is now active (was ' + (done.from_snapshot || target.from) + ').';
    } catch (e) {
      outcome.classList.add('bad');
      outcome.textContent = 'Rollback to ' + target.to + ' refused: ' + explain(e);
      if (e.code === 'unauthenticated') signOut(explain(e));
    }
    refreshPolicy();
  }

  function outcomeClass(name) {
    return name === 'DENY' || name === 'TERMINATE' || name === 'REJECTED' ? 'bad'
      : name === 'REQUIRE_APPROVAL' || name === 'THROTTLE' || name === 'ALERT' ? 'held' : 'ok';
  }

  function rate(perSecond) {
    const v = Number(perSecond || 0);
    return (v >= 10 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toFixed(4)) + ' jobs/s';
  }

  function renderStats(stats) {
    const total = Number(stats.total || 0);
    $('stats-total').textContent = total + (total === 1 ? ' decision' : ' decisions') +
      ' (' + (stats.scope === 'replica' ? 'this replica' : stats.scope || '') + ')';
    $('stats-rate-minute').textContent = rate(stats.per_second_last_minute);
    $('stats-rate-hour').textContent = rate(stats.per_second_last_hour);
    const rows = [];
    const totals = stats.totals || {};
    // Most permissive first, then the refusals; any outcome this page does not know last.
    const order = ['ALLOW', 'ALLOW_WITH_CONSTRAINTS', 'REDACT', 'ALERT', 'THROTTLE',
      'REQUIRE_APPROVAL', 'DENY', 'TERMINATE', 'REJECTED'];
    const names = order.filter((n) => n in totals)
      .concat(Object.keys(totals).filter((n) => !order.includes(n)).sort());
    for (const name of names) {
      const n = Number(totals[name] || 0);
      const tr = document.createElement('tr');
      tr.dataset.outcome = name;
      tr.append(text('th', name, 'outcome-' + outcomeClass(name)), text('td', String(n), 'num'),
        text('td', total ? Math.round((100 * n) / total) + '%' : '—', 'num'));
      tr.firstChild.scope = 'row';
      rows.push(tr);
    }
    $('stats-body').replaceChildren(...rows);
    const minutes = stats.minutes || [];
    const peak = Math.max(1, ...minutes.map((m) => Number(m.total || 0)));
    const bars = [];
    for (const m of minutes) {
      const counts = m.counts || {};
      const n = Number(m.total || 0);
      const denied = Number(counts.DENY || 0) + Number(counts.TERMINATE || 0);
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.title = new Date(m.start).toLocaleTimeString() + ': ' + n + ' decisions, ' + denied + ' denied';
      const ok = document.createElement('div');
      ok.className = 'bar-ok';
      ok.style.height = (100 * (n - denied)) / peak + '%';
      const bad = document.createElement('div');
      bad.className = 'bar-bad';
      bad.style.height = (100 * denied) / peak + '%';
      bar.append(bad, ok);
      bars.push(bar);
    }
    $('stats-chart').replaceChildren(...bars);
    $('stats-chart').setAttribute('aria-label', 'Decisions per minute over the last hour: ' +
      total + ' in all, at most ' + peak + ' in one minute');
    $('stats-chart-start').textContent = minutes.length ? new Date(minutes[0].start).toLocaleTimeString() : '';
  }

  function renderDenials(list) {
    const rows = [];
    for (const record of list.denials || []) {
      const job = record.job || {};
      const actor = job.actor || {};
      const decision = record.decision || {};
      const tr = document.createElement('tr');
      tr.append(text('td', when(decision.evaluated_at)), text('td', decision.decision || 'DENY'),
        text('td', job.topic || record.subject || ''), text('td', actor.agent_id || ''),
        text('td', actor.session_id || ''), text('td', decision.matched_rule || '(defaults)'),
        text('td', decision.reason || ''));
      labelCells(tr, 'denials-table');
      rows.push(tr);
    }
    $('denials-body').replaceChildren(...rows);
    show($('denials-table'), rows.length > 0);
    show($('denials-empty'), rows.length === 0);
  }

  async function refreshActivity() {
    try {
      const [stats, denials] = await Promise.all([
        api('GET', '/api/v1/stats'), api('GET', '/api/v1/denials?limit=50')]);
      renderStats(stats.body || {});
      renderDenials(denials.body || {});
      $('activity-updated').textContent = 'Updated ' + new Date().toLocaleTimeString() + '.';
      setError('activity-error', '');
    } catch (e) {
      setError('activity-error', explain(e));
      if (e.code === 'unauthenticated') signOut(explain(e));
    }
  }

  function refreshView() {
    if (state.view === 'queue') return refreshQueue();
    if (state.view === 'history') return refreshHistory();
    if (state.view === 'activity') return refreshActivity();
    return refreshPolicy();
  }

  function selectView(view) {
    state.view = view;
    for (const tab of document.querySelectorAll('.tab')) {
      if (tab.dataset.view === view) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    for (const name of ['queue', 'history', 'activity', 'policy']) show($('view-' + name), name === view);
    refreshView();
  }

  // --- sign in ---------------------------------------------------------------------

  function startPolling() {
    clearInterval(state.timer);
    state.timer = setInterval(() => {
      if (document.hidden) return;
      if (state.view === 'queue') refreshQueue();
      if (state.view === 'activity') refreshActivity();
    }, POLL_MS);
  }

  async function signIn(token) {
    state.token = token;
    const r = await api('GET', '/api/v1/whoami');
    state.roles = (r.body && r.body.roles) || [];
    sessionStorage.setItem(TOKEN_KEY, token);
    $('who-name').textContent = r.body.name || '';
    $('who-roles').textContent = state.roles.join(', ') || 'no role';
    show($('who'), true);
    show($('sign-in'), false);
    show($('app'), true);
    state.queue = { tokens: [''], etag: '', data: null };
    $('queue-list').replaceChildren();
    selectView('queue');
    startPolling();
  }

  function signOut(message) {
    clearInterval(state.timer);
    if ($('rollback-dialog').open) $('rollback-dialog').close();
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = '';
    state.roles = [];
    $('queue-list').replaceChildren();
    show($('who'), false);
    show($('app'), false);
    show($('sign-in'), true);
    setError('sign-in-error', message || '');
    $('token').value = '';
    $('token').focus();
  }

  function init() {
    if (!transportIsSafe()) {
      setError('transport-warning', 'This page is served over plain http to ' + location.host +
        ': it will not send a token. Use https, or open it on this machine (127.0.0.1).');
      $('token').disabled = true;
    }
    $('sign-in-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const token = $('token').value.trim();
      if (!token) return;
      try {
        await signIn(token);
        $('token').value = '';
      } catch (err) {
        state.token = '';
        setError('sign-in-error', err.code === 'unauthenticated'
          ? 'That token was not accepted.' : explain(err));
      }
    });
    $('sign-out').addEventListener('click', () => signOut(''));
    for (const tab of document.querySelectorAll('.tab')) {
      tab.addEventListener('click', () => selectView(tab.dataset.view));
    }
    $('queue-next').addEventListener('click', () => {
      if (!state.queue.data || !state.queue.data.next_page_token) return;
      state.queue.tokens.push(state.queue.data.next_page_token);
      state.queue.etag = '';
      refreshQueue();
    });
    $('queue-first').addEventListener('click', () => {
      state.queue.tokens = [''];
      state.queue.etag = '';
      refreshQueue();
    });
    $('history-next').addEventListener('click', () => {
      if (!state.history.next) return;
      state.history.tokens.push(state.history.next);
      refreshHistory();
    });
    $('history-first').addEventListener('click', () => {
      state.history.tokens = [''];
      refreshHistory();
    });
    $('history-refresh').addEventListener('click', refreshHistory);
    $('policy-refresh').addEventListener('click', refreshPolicy);
    $('activity-refresh').addEventListener('click', refreshActivity);
    $('rollback-form').addEventListener('submit', (e) => e.preventDefault());
    $('rollback-confirm').addEventListener('click', confirmRollback);
    $('rollback-cancel').addEventListener('click', () => {
      state.rollback = null;
      $('rollback-dialog').close();
    });
    $('rollback-dialog').addEventListener('cancel', () => { state.rollback = null; });
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved && transportIsSafe()) {
      signIn(saved).catch((err) => signOut(explain(err)));
    }
  }

  document.addEventListener('DOMContentLoaded', init);
})();
