// The marketer's UI for adseed. Plain modules, no build step, no third-party code: it is served
// as-is by the gateway and must work offline. All user-provided text goes through textContent.

const REQUEST_TIMEOUT_MS = 30_000;
// Replies can make the agent search or generate before it answers, so they get longer.
const AGENT_TIMEOUT_MS = 180_000;
// Safety net while the ad is generated: ask often when the event stream is down, and now and
// then even when it is up, so one lost event cannot leave the marketer waiting forever.
const POLL_INTERVAL_MS = 1_500;
const POLL_INTERVAL_WITH_EVENTS_MS = 5_000;
const POLL_GIVE_UP_MS = 300_000;

/** What the marketer sees while a request is in flight, by the reply that was sent. */
const BUSY_TEXT = {
  start: 'Choosing a subject for this audience…',
  yes: 'Finding photos…',
  next: 'Getting the next photo…',
  accept: 'Starting your ad…',
  'different subject': 'Thinking of a different subject…',
};
const GENERATING_TEXT = 'Composing your ad… this can take a little while.';
const DEFAULT_BUSY_TEXT = 'The agent is working…';

/** A failure the marketer can act on: the API's own message when there is one. */
class ApiError extends Error {
  constructor(message, status, code, issues) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.issues = Array.isArray(issues) ? issues : [];
  }
}

async function api(method, path, { json, form, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const init = { method, signal: controller.signal, headers: { Accept: 'application/json' } };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form; // the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    const reason = controller.signal.aborted
      ? `no answer within ${Math.round(timeoutMs / 1000)} s`
      : 'the server could not be reached';
    throw new ApiError(`Request failed: ${reason}. Check that adseed is running and try again.`, 0, 'network');
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = body && body.error;
    if (error && typeof error.message === 'string') {
      throw new ApiError(error.message, error.status ?? response.status, error.code, error.issues);
    }
    throw new ApiError(`The server answered ${response.status} ${response.statusText}.`, response.status, 'http');
  }
  return body;
}

function showError(element, error) {
  if (!error) {
    element.hidden = true;
    element.replaceChildren();
    return;
  }
  const message = document.createElement('span');
  message.className = 'error-message';
  message.dataset.testid = 'error-message';
  message.textContent = error.message || String(error);
  const parts = [message];
  // The issues say which field to fix; repeat them only when the message does not already.
  const issues = (error.issues || []).filter((i) => !message.textContent.includes(i.reason));
  if (issues.length > 0) {
    const list = document.createElement('ul');
    list.className = 'error-issues';
    for (const issue of issues) {
      const item = document.createElement('li');
      item.textContent = `${issue.field}: ${issue.reason}`;
      list.append(item);
    }
    parts.push(list);
  }
  element.replaceChildren(...parts);
  element.hidden = false;
}

function byTestId(id, root = document) {
  const element = root.querySelector(`[data-testid="${id}"]`);
  if (!element) throw new Error(`UI is missing [data-testid="${id}"]`);
  return element;
}

function formatScore(score) {
  return typeof score === 'number' && Number.isFinite(score) ? score.toFixed(3) : '–';
}

/** Subjects may arrive as ids (`german_shorthaired`); people read words. */
function displayName(name) {
  return String(name).replace(/[_-]+/g, ' ').trim();
}

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// Tabs ---------------------------------------------------------------------------------------

function setUpTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      other.tabIndex = selected ? 0 : -1;
      document.getElementById(other.dataset.panel).hidden = !selected;
    }
    if (focus) tab.focus();
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => select(tab, false));
    // Arrow keys move between tabs, as the WAI-ARIA tabs pattern expects.
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (event.key === 'Home') select(tabs[0], true);
      else if (event.key === 'End') select(tabs[tabs.length - 1], true);
      else if (step) select(tabs[(index + step + tabs.length) % tabs.length], true);
      else return;
      event.preventDefault();
    });
  });
}

// Chat ---------------------------------------------------------------------------------------

function setUpChat() {
  const ui = {
    log: byTestId('chat-log'),
    progress: byTestId('progress'),
    progressText: byTestId('progress').querySelector('.typing-text'),
    error: byTestId('chat-error'),
    status: byTestId('conversation-status'),
    newConversation: byTestId('new-conversation'),
    segmentForm: byTestId('segment-form'),
    segmentInput: byTestId('segment-input'),
    headlineInput: byTestId('headline-input'),
    ctaInput: byTestId('cta-input'),
    seedHeadline: byTestId('seed-headline'),
    seedCta: byTestId('seed-cta'),
    brandHint: byTestId('brand-hint'),
    brandPath: byTestId('brand-path'),
    replyForm: byTestId('reply-form'),
    replyInput: byTestId('reply-input'),
    stageEmpty: byTestId('stage-empty'),
    subjectCard: byTestId('subject-card'),
    seedCard: byTestId('seed-card'),
    adCard: byTestId('ad-card'),
    failedCard: byTestId('failed-card'),
  };

  const state = {
    conversation: null,
    renderedMessages: 0,
    pending: 0,
    busyText: DEFAULT_BUSY_TEXT,
    events: null,
    pollTimer: null,
    pollStartedAt: 0,
    brandPath: null,
  };

  /** Applies a conversation from any source, ignoring ones older than what is on screen. */
  function apply(conversation) {
    if (!conversation || typeof conversation.id !== 'string') return;
    const current = state.conversation;
    if (current && current.id !== conversation.id) return;
    if (current && isOlder(conversation, current)) return;
    state.conversation = conversation;
    render();
    if (conversation.status === 'done' || conversation.status === 'failed') closeEvents();
    schedulePoll();
  }

  function isOlder(candidate, current) {
    if (candidate.updatedAt !== current.updatedAt) return candidate.updatedAt < current.updatedAt;
    return candidate.messages.length < current.messages.length;
  }

  function openEvents(id) {
    closeEvents();
    if (typeof EventSource !== 'function') return;
    const source = new EventSource(`/v1/conversations/${encodeURIComponent(id)}/events`);
    source.addEventListener('state', (event) => {
      try {
        apply(JSON.parse(event.data));
      } catch {
        // A malformed event is not worth interrupting the marketer: the POST answers still arrive.
      }
    });
    // The browser reconnects on its own; polling (see schedulePoll) covers the gap while it does.
    state.events = source;
  }

  function closeEvents() {
    if (state.events) {
      state.events.close();
      state.events = null;
    }
  }

  function eventsHealthy() {
    return state.events !== null && state.events.readyState === EventSource.OPEN;
  }

  /** Polls only while the agent works on its own (generating), and seldom if the stream is up. */
  function schedulePoll() {
    const conversation = state.conversation;
    const needed = conversation && conversation.status === 'generating';
    if (!needed) {
      clearTimeout(state.pollTimer);
      state.pollTimer = null;
      state.pollStartedAt = 0;
      return;
    }
    if (state.pollTimer) return;
    if (!state.pollStartedAt) state.pollStartedAt = Date.now();
    if (Date.now() - state.pollStartedAt > POLL_GIVE_UP_MS) {
      showError(ui.error, new Error('The ad is taking unusually long. Reload the page to check on it.'));
      return;
    }
    state.pollTimer = setTimeout(async () => {
      state.pollTimer = null;
      const id = conversation.id;
      try {
        apply(await api('GET', `/v1/conversations/${encodeURIComponent(id)}`));
      } catch (error) {
        showError(ui.error, error);
      }
      schedulePoll();
    }, eventsHealthy() ? POLL_INTERVAL_WITH_EVENTS_MS : POLL_INTERVAL_MS);
  }

  async function run(busyText, task) {
    state.pending += 1;
    state.busyText = busyText;
    showError(ui.error, null);
    render();
    let succeeded = false;
    try {
      await task();
      succeeded = true;
    } catch (error) {
      showError(ui.error, error);
    } finally {
      state.pending -= 1;
      render();
    }
    // Only now are the new stage's buttons enabled, so only now can they take focus.
    if (succeeded) focusStage();
  }

  function startConversation(segment) {
    return run(BUSY_TEXT.start, async () => {
      const body = { segment };
      if (state.brandPath) body.brandPath = state.brandPath;
      // The ad's text goes through the same content check as the segment, on the server.
      if (ui.headlineInput.value.trim()) body.headline = ui.headlineInput.value;
      if (ui.ctaInput.value.trim()) body.callToAction = ui.ctaInput.value;
      const conversation = await api('POST', '/v1/conversations', { json: body, timeoutMs: AGENT_TIMEOUT_MS });
      resetConversation();
      state.conversation = conversation;
      openEvents(conversation.id);
      apply(conversation);
      ui.segmentInput.value = '';
      ui.headlineInput.value = '';
      ui.ctaInput.value = '';
    });
  }

  function reply(text) {
    const conversation = state.conversation;
    if (!conversation) return Promise.resolve();
    const busyText = BUSY_TEXT[text.trim().toLowerCase()] ?? DEFAULT_BUSY_TEXT;
    // While photos are shown, replies carry the headline and call to action as edited on the card, so accepting makes the ad with them.
    const json = { text };
    if (conversation.status === 'awaiting-seed') {
      json.headline = ui.seedHeadline.value;
      json.callToAction = ui.seedCta.value;
    }
    return run(busyText, async () => {
      const updated = await api('POST', `/v1/conversations/${encodeURIComponent(conversation.id)}/messages`, {
        json,
        timeoutMs: AGENT_TIMEOUT_MS,
      });
      apply(updated);
    });
  }

  function resetConversation() {
    closeEvents();
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    state.pollStartedAt = 0;
    state.conversation = null;
    state.renderedMessages = 0;
    ui.log.querySelectorAll('.bubble:not(.bubble-intro)').forEach((bubble) => bubble.remove());
    showError(ui.error, null);
    render();
  }

  /** After a button press removes that button, give keyboard users the next decision. */
  function focusStage() {
    const active = document.activeElement;
    const lostFocus = !active || active === document.body || active.closest('[hidden]') || active.disabled;
    if (!lostFocus && active !== ui.segmentInput) return;
    const target = document.querySelector('.stage .card:not([hidden]) .button-primary');
    if (target) target.focus({ preventScroll: true });
  }

  function render() {
    const conversation = state.conversation;
    const busy = state.pending > 0;
    const status = conversation ? conversation.status : 'idle';

    renderMessages(conversation);

    const working = busy || status === 'generating';
    ui.progress.hidden = !working;
    ui.progressText.textContent = busy ? state.busyText : GENERATING_TEXT;
    ui.log.setAttribute('aria-busy', String(working));

    ui.status.hidden = !conversation;
    ui.status.dataset.status = status;
    ui.status.textContent = conversation ? statusLabel(status) : '';
    // Finished and failed conversations offer their own way to start over on the stage card.
    ui.newConversation.hidden = !conversation || status === 'done' || status === 'failed';

    const talking = conversation && (status === 'awaiting-subject' || status === 'awaiting-seed');
    ui.segmentForm.hidden = Boolean(conversation);
    ui.replyForm.hidden = !talking;
    for (const control of [ui.segmentInput, ui.replyInput, ...document.querySelectorAll('.composer button')]) {
      control.disabled = busy;
    }
    ui.brandHint.hidden = !state.brandPath;
    ui.brandPath.textContent = state.brandPath ?? '';

    renderStage(conversation, status, busy);
  }

  /** The chat as the marketer saw it: the segment they typed opens it, if the agent did not log it. */
  function chatOf(conversation) {
    if (!conversation) return [];
    const [first] = conversation.messages;
    const logged = first && first.role === 'user' && first.text.trim() === conversation.segment.trim();
    return logged ? conversation.messages
      : [{ role: 'user', text: conversation.segment, at: conversation.createdAt }, ...conversation.messages];
  }

  function renderMessages(conversation) {
    const messages = chatOf(conversation);
    if (messages.length < state.renderedMessages) {
      ui.log.querySelectorAll('.bubble:not(.bubble-intro)').forEach((bubble) => bubble.remove());
      state.renderedMessages = 0;
    }
    for (const message of messages.slice(state.renderedMessages)) {
      const bubble = document.createElement('li');
      bubble.className = `bubble bubble-${message.role === 'user' ? 'user' : 'agent'}`;
      bubble.dataset.testid = 'chat-message';
      bubble.dataset.role = message.role;
      const who = document.createElement('span');
      who.className = 'visually-hidden';
      who.textContent = message.role === 'user' ? 'You: ' : 'Agent: ';
      const text = document.createElement('span');
      text.className = 'bubble-text';
      text.textContent = message.text;
      const time = document.createElement('time');
      time.className = 'bubble-time';
      time.dateTime = message.at;
      time.textContent = formatTime(message.at);
      bubble.append(who, text, time);
      ui.log.append(bubble);
    }
    if (messages.length !== state.renderedMessages) {
      state.renderedMessages = messages.length;
      // Scroll the log itself, not the page: the page scroll belongs to the marketer.
      ui.log.scrollTop = ui.log.scrollHeight;
    }
  }

  function renderStage(conversation, status, busy) {
    const show = {
      subject: status === 'awaiting-subject' && Boolean(conversation.subject),
      seed: (status === 'awaiting-seed' || status === 'generating') && Boolean(conversation.currentSeed),
      ad: status === 'done' && Boolean(conversation.ad),
      failed: status === 'failed',
    };
    ui.subjectCard.hidden = !show.subject;
    ui.seedCard.hidden = !show.seed;
    ui.adCard.hidden = !show.ad;
    ui.failedCard.hidden = !show.failed;
    ui.stageEmpty.hidden = show.subject || show.seed || show.ad || show.failed;

    for (const button of document.querySelectorAll('.stage [data-reply]')) {
      button.disabled = busy || status === 'generating';
    }

    if (show.subject) {
      byTestId('subject-name', ui.subjectCard).textContent = displayName(conversation.subject.name);
      byTestId('subject-reason', ui.subjectCard).textContent = conversation.subject.reason;
    }
    if (show.seed) {
      const seed = conversation.currentSeed;
      const image = byTestId('seed-image', ui.seedCard);
      if (image.getAttribute('src') !== seed.url) {
        image.classList.remove('is-loaded');
        image.src = seed.url;
      }
      image.alt = seed.caption ? `Seed photo: ${seed.caption}` : `Seed photo ${seed.path}`;
      byTestId('seed-caption', ui.seedCard).textContent = seed.caption ?? seed.path;
      const position = Math.min(conversation.seedIndex, Math.max(conversation.seeds.length - 1, 0)) + 1;
      byTestId('seed-rank', ui.seedCard).textContent = `${position} of ${conversation.seeds.length}`;
      byTestId('seed-score', ui.seedCard).textContent = `Match score ${formatScore(seed.score)}`;
      ui.seedCard.classList.toggle('is-generating', status === 'generating');
      // Filled from the conversation when a photo is first shown; the marketer's edits stay while they look.
      if (ui.seedCard.dataset.conversation !== conversation.id) {
        ui.seedCard.dataset.conversation = conversation.id;
        ui.seedHeadline.value = conversation.headline ?? '';
        ui.seedCta.value = conversation.callToAction ?? '';
      }
    }
    if (show.ad) {
      const image = byTestId('ad-image', ui.adCard);
      if (image.getAttribute('src') !== conversation.ad.url) {
        image.classList.remove('is-loaded');
        image.src = conversation.ad.url;
      }
      image.alt = conversation.subject ? `The finished ad featuring ${displayName(conversation.subject.name)}` : 'The finished ad';
      const download = byTestId('ad-download', ui.adCard);
      download.href = conversation.ad.url;
      download.setAttribute('download', downloadName(conversation));
    }
    if (show.failed) {
      const lastAgent = [...conversation.messages].reverse().find((m) => m.role === 'agent');
      byTestId('failed-text', ui.failedCard).textContent =
        lastAgent ? lastAgent.text : 'The agent could not finish this ad.';
    }
  }

  function downloadName(conversation) {
    const slug = conversation.segment.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
    return `adseed-${slug || 'ad'}.png`;
  }

  function statusLabel(status) {
    switch (status) {
      case 'awaiting-subject': return 'Choosing a subject';
      case 'awaiting-seed': return 'Choosing a photo';
      case 'generating': return 'Generating';
      case 'done': return 'Done';
      case 'failed': return 'Failed';
      default: return status;
    }
  }

  for (const image of document.querySelectorAll('.stage img')) {
    image.addEventListener('load', () => image.classList.add('is-loaded'));
    image.addEventListener('error', () => {
      if (image.getAttribute('src')) showError(ui.error, new Error('The image could not be loaded. Try again, or pick another photo.'));
    });
  }

  ui.segmentForm.addEventListener('submit', (event) => {
    event.preventDefault();
    // Sent as typed, even when empty: the API's validation message is the one to show.
    void startConversation(ui.segmentInput.value);
  });
  ui.replyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.replyInput.value;
    void reply(text).then(() => {
      if (ui.error.hidden) ui.replyInput.value = '';
      // Someone typing replies keeps typing; the stage buttons are a Tab away.
      if (!ui.replyForm.hidden) ui.replyInput.focus({ preventScroll: true });
    });
  });
  for (const button of document.querySelectorAll('.stage [data-reply]')) {
    button.addEventListener('click', () => void reply(button.dataset.reply));
  }
  const startOver = () => {
    resetConversation();
    ui.segmentInput.focus();
  };
  ui.newConversation.addEventListener('click', startOver);
  byTestId('ad-new').addEventListener('click', startOver);
  byTestId('failed-new').addEventListener('click', startOver);
  byTestId('brand-clear').addEventListener('click', () => {
    state.brandPath = null;
    render();
  });

  render();
  return {
    useBrand(path) {
      state.brandPath = path;
      render();
    },
  };
}

// Search -------------------------------------------------------------------------------------

function setUpSearch() {
  const form = byTestId('search-form');
  const input = byTestId('search-input');
  const error = byTestId('search-error');
  const summary = byTestId('search-summary');
  const hits = byTestId('search-hits');
  const submit = byTestId('search-submit');

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(error, null);
    submit.disabled = true;
    summary.textContent = 'Searching…';
    try {
      const result = await api('POST', '/v1/search', {
        json: { text: input.value, k: Number(byTestId('search-k').value), kind: byTestId('search-kind').value },
      });
      renderHits(result);
    } catch (failure) {
      summary.textContent = '';
      hits.replaceChildren();
      showError(error, failure);
    } finally {
      submit.disabled = false;
    }
  });

  function renderHits(result) {
    const list = Array.isArray(result?.hits) ? result.hits : [];
    const encoders = Object.entries(result?.encoders ?? {})
      .filter(([, model]) => model)
      .map(([name, model]) => `${name}: ${model.id}${model.version ? `@${model.version}` : ''}`);
    summary.textContent = (list.length === 0
      ? 'No matches. Try describing the photo differently, or upload photos first.'
      : `${list.length} ${list.length === 1 ? 'match' : 'matches'}`) +
      (encoders.length ? ` · encoders ${encoders.join(', ')}` : '') +
      (list.length > 0 && result?.fusion && result.fusion !== 'none' ? ` · fusion ${result.fusion}` : '');
    hits.replaceChildren(...list.map((hit) => {
      const item = document.createElement('li');
      item.className = 'hit';
      item.dataset.testid = 'search-hit';
      const image = document.createElement('img');
      image.src = hit.url;
      image.alt = hit.caption ? `Result ${hit.rank}: ${hit.caption}` : `Result ${hit.rank}`;
      image.loading = 'lazy';
      image.decoding = 'async';
      const body = document.createElement('div');
      body.className = 'hit-body';
      const title = document.createElement('p');
      title.className = 'hit-caption';
      title.textContent = hit.caption ?? hit.path;
      const score = document.createElement('p');
      score.className = 'hit-score';
      score.dataset.testid = 'search-hit-score';
      const parts = [`#${hit.rank}`, `score ${formatScore(hit.score)}`];
      if (hit.scores?.clip !== undefined) parts.push(`clip ${formatScore(hit.scores.clip)}`);
      if (hit.scores?.caption !== undefined) parts.push(`caption ${formatScore(hit.scores.caption)}`);
      score.textContent = parts.join(' · ');
      body.append(title, score);
      item.append(image, body);
      return item;
    }));
  }
}

// Upload -------------------------------------------------------------------------------------

function setUpUpload(chat) {
  const form = byTestId('upload-form');
  const file = byTestId('upload-file');
  const error = byTestId('upload-error');
  const result = byTestId('upload-result');
  const submit = byTestId('upload-submit');

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(error, null);
    result.hidden = true;
    if (!file.files || file.files.length === 0) {
      showError(error, new Error('Choose an image file to upload.'));
      file.focus();
      return;
    }
    const data = new FormData();
    data.append('file', file.files[0]);
    data.append('kind', byTestId('upload-kind').value);
    const caption = byTestId('upload-caption').value.trim();
    const tags = byTestId('upload-tags').value.trim();
    if (caption) data.append('caption', caption);
    if (tags) data.append('tags', tags);
    const licence = byTestId('upload-licence').value.trim();
    const attribution = byTestId('upload-attribution').value.trim();
    if (licence) data.append('licence', licence);
    if (attribution) data.append('attribution', attribution);
    submit.disabled = true;
    try {
      const { asset, ingest } = await api('POST', '/v1/assets', { form: data, timeoutMs: 120_000 });
      if (ingest === 'quarantined') {
        renderQuarantined(asset);
      } else {
        renderAsset(asset);
        if (asset.kind === 'brand' && byTestId('upload-use-brand').checked) chat.useBrand(asset.path);
      }
      form.reset();
    } catch (failure) {
      showError(error, failure);
    } finally {
      submit.disabled = false;
    }
  });

  function renderAsset(asset) {
    const image = document.createElement('img');
    image.src = asset.url ?? `/v1/assets/content?path=${encodeURIComponent(asset.path)}`;
    image.alt = asset.caption ? `Uploaded: ${asset.caption}` : 'Uploaded image';
    const text = document.createElement('div');
    const title = document.createElement('p');
    title.className = 'upload-title';
    title.textContent = `Uploaded ${asset.kind === 'brand' ? 'brand image' : 'seed photo'}`;
    const details = document.createElement('p');
    details.className = 'meta';
    const size = asset.width && asset.height ? `${asset.width}×${asset.height}, ` : '';
    const weight = asset.bytes < 1024 ? `${asset.bytes} bytes` : `${Math.round(asset.bytes / 1024)} KB`;
    details.textContent = `${asset.path} · ${size}${weight}`;
    const note = document.createElement('p');
    note.className = 'meta';
    note.textContent = asset.kind === 'seed'
      ? 'It becomes searchable once its embeddings are computed.'
      : byTestId('upload-use-brand').checked ? 'New ads will use it as the brand image.' : '';
    text.append(title, details, note);
    result.replaceChildren(image, text);
    result.hidden = false;
  }

  /** The image guardrail flagged the upload: it is stored for review, never shown, searched or used. */
  function renderQuarantined(asset) {
    const title = document.createElement('p');
    title.className = 'upload-title';
    title.textContent = 'Held for review';
    const note = document.createElement('p');
    note.className = 'meta';
    note.dataset.testid = 'upload-quarantined';
    note.textContent = `The image check flagged this upload (${(asset.moderation?.reasons ?? []).join(', ') || 'flagged'}); it is kept out of search and ads.`;
    const text = document.createElement('div');
    text.append(title, note);
    result.replaceChildren(text);
    result.hidden = false;
  }
}

// Missing photos (seed-gap report) -------------------------------------------------------------

function setUpGaps() {
  const rows = byTestId('gaps-rows');
  const table = byTestId('gaps-table');
  const empty = byTestId('gaps-empty');
  const error = byTestId('gaps-error');
  const load = async () => {
    showError(error, null);
    try {
      const { items } = await api('GET', '/v1/reports/seed-gaps?limit=200');
      rows.replaceChildren(
        ...items.map((gap) => {
          const row = document.createElement('tr');
          row.dataset.testid = 'gap-row';
          const cells = [gap.text, gap.kind, String(gap.count), gap.bestScore === undefined ? '–' : gap.bestScore.toFixed(2), new Date(gap.lastSeenAt).toLocaleString()];
          for (const value of cells) {
            const cell = document.createElement('td');
            cell.textContent = value;
            row.append(cell);
          }
          return row;
        }),
      );
      table.hidden = items.length === 0;
      empty.hidden = items.length !== 0;
    } catch (failure) {
      showError(error, failure);
    }
  };
  byTestId('gaps-refresh').addEventListener('click', load);
  byTestId('tab-gaps').addEventListener('click', load);
}

const chat = setUpChat();
setUpTabs();
setUpSearch();
setUpUpload(chat);
setUpGaps();
