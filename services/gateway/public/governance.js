// Sign-in with an API key, the review queue and the blind A/B pages. Plain module, no
// third-party code; all user-provided text goes through textContent.
//
// Signing in keeps the key in sessionStorage (gone when the tab closes) and sends it as
// `Authorization: Bearer` on every same-origin `/v1` fetch. The other pages call `fetch`
// directly, so this module (loaded first) wraps `window.fetch` once instead of changing each call.
// Images on these pages are fetched the same way and shown from blob URLs. For the other pages'
// <img src> and EventSource, which cannot carry the header, signing in also asks the gateway for
// an HttpOnly session cookie (`POST /v1/session`), which the browser sends on GET requests only.

const KEY = 'adseed.apiKey';
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const originalFetch = window.fetch.bind(window);
window.fetch = (input, init = {}) => {
  const key = sessionStorage.getItem(KEY);
  const url = typeof input === 'string' ? input : input.url;
  if (key && new URL(url, location.href).origin === location.origin && new URL(url, location.href).pathname.startsWith('/v1/')) {
    const headers = new Headers(init.headers ?? (typeof input === 'string' ? undefined : input.headers));
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
    return originalFetch(input, { ...init, headers });
  }
  return originalFetch(input, init);
};

/** A JSON call to the API (the key is added by the fetch wrapper above); throws the server's message. */
export async function call(method, path, json) {
  const response = await fetch(path, {
    method,
    headers: { Accept: 'application/json', ...(json !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  const body = await response.json().catch(() => undefined);
  if (!response.ok) throw new Error(body?.error?.message ?? `The server answered ${response.status}.`);
  return body;
}

/** Shows an ad fetched with the key, from a blob URL. */
async function showImage(img, url) {
  if (img.dataset.blob) URL.revokeObjectURL(img.dataset.blob);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`The image could not be loaded (${response.status}).`);
  img.dataset.blob = URL.createObjectURL(await response.blob());
  img.src = img.dataset.blob;
}

/** Gets (with the key) or checks the session cookie, and notes the caller's role on the page. */
async function refreshSession() {
  const key = sessionStorage.getItem(KEY);
  clearTimeout(refreshSession.timer);
  try {
    const { session } = await call(key ? 'POST' : 'GET', '/v1/session');
    document.body.dataset.role = session.role;
    // Renew at half-life, so images and streams keep working while the tab stays open.
    if (session.expiresAt) refreshSession.timer = setTimeout(refreshSession, Math.max(60_000, (Date.parse(session.expiresAt) - Date.now()) / 2));
    return session;
  } catch (error) {
    delete document.body.dataset.role;
    if (key) throw error;
    return undefined;
  }
}

function setUpSignIn() {
  const form = byTestId('sign-in');
  const input = byTestId('api-key');
  const signedIn = byTestId('signed-in');
  const signOut = byTestId('sign-out');
  const render = (session) => {
    const key = sessionStorage.getItem(KEY);
    input.hidden = Boolean(key);
    byTestId('sign-in-button').hidden = Boolean(key);
    signedIn.hidden = !key;
    signOut.hidden = !key;
    signedIn.textContent = key ? `Signed in (key …${key.slice(-4)}${session ? `, ${session.role}` : ''})` : '';
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    input.value = '';
    try {
      render(await refreshSession());
    } catch (error) {
      sessionStorage.removeItem(KEY);
      render();
      signedIn.hidden = false;
      signedIn.textContent = error.message;
    }
  });
  signOut.addEventListener('click', async () => {
    sessionStorage.removeItem(KEY);
    clearTimeout(refreshSession.timer);
    delete document.body.dataset.role;
    await fetch('/v1/session', { method: 'DELETE' }).catch(() => undefined);
    render();
  });
  render();
  refreshSession().then(render, () => render());
}

function setUpReview() {
  const list = byTestId('review-list');
  const error = byTestId('review-error');
  const load = async () => {
    error.textContent = '';
    list.replaceChildren();
    try {
      const { items } = await call('GET', '/v1/reviews?status=pending');
      if (items.length === 0) {
        const empty = document.createElement('li');
        empty.textContent = 'Nothing is waiting for review.';
        list.append(empty);
      }
      for (const review of items) list.append(reviewItem(review, load, error));
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  byTestId('review-refresh').addEventListener('click', load);
  byTestId('tab-review').addEventListener('click', load);
}

function reviewItem(review, reload, error) {
  const item = document.createElement('li');
  item.className = 'review-item';
  item.dataset.testid = 'review-item';
  const img = document.createElement('img');
  img.alt = 'Ad waiting for review';
  showImage(img, review.url).catch((failure) => (error.textContent = failure.message));
  const facts = document.createElement('p');
  facts.className = 'hint';
  const fidelity = review.fidelity === undefined ? 'not measured' : review.fidelity.toFixed(3);
  facts.textContent = `${review.source}${review.jobId ? ` ${review.jobId}` : ''} · product fidelity ${fidelity} · ${review.needsReviewBecause.join('; ')}`;
  const reason = document.createElement('input');
  reason.placeholder = 'Reason (needed to reject)';
  reason.maxLength = 500;
  const decide = (decision) => async () => {
    try {
      await call('POST', `/v1/ads/${review.adId}/review`, { decision, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) });
      await reload();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  const approve = document.createElement('button');
  approve.className = 'button';
  approve.textContent = 'Approve';
  approve.addEventListener('click', decide('approve'));
  const reject = document.createElement('button');
  reject.className = 'button button-secondary';
  reject.textContent = 'Reject';
  reject.addEventListener('click', decide('reject'));
  item.append(img, facts, reason, approve, reject);
  return item;
}

function setUpExperiments() {
  const error = byTestId('ab-error');
  const vote = byTestId('ab-vote');
  const results = byTestId('ab-results');
  let experimentId;
  let pair;

  const showResults = (experiment) => {
    byTestId('ab-status').textContent = `${experiment.name}: ${experiment.status}, ${experiment.ads.made} of ${experiment.ads.total} ads made, ${experiment.votes} votes`;
    const rows = [...experiment.results].sort((a, b) => (a.rank ?? 99) - (b.rank ?? 99)).map((r) => {
      const row = document.createElement('tr');
      const ci = r.winRate95 ? ` (${(r.winRate95.low * 100).toFixed(0)}–${(r.winRate95.high * 100).toFixed(0)} %)` : '';
      for (const text of [r.rank ?? '–', r.configuration, r.wins, r.comparisons, r.winRate === null ? '–' : `${(r.winRate * 100).toFixed(0)} %${ci}`, r.strength === null ? '–' : r.strength.toFixed(3)]) {
        const cell = document.createElement('td');
        cell.textContent = String(text);
        row.append(cell);
      }
      return row;
    });
    results.querySelector('tbody').replaceChildren(...rows);
    results.hidden = false;
  };

  const next = async () => {
    const [{ experiment }, { pair: nextPair }] = await Promise.all([call('GET', `/v1/experiments/${experimentId}`), call('GET', `/v1/experiments/${experimentId}/next-pair`)]);
    showResults(experiment);
    pair = nextPair;
    vote.hidden = false;
    if (!pair) {
      byTestId('ab-status').textContent += experiment.status === 'generating' ? ' · ads are still being made, open it again shortly' : ' · no pair to show';
      return;
    }
    await Promise.all([showImage(byTestId('ab-left'), pair.left.url), showImage(byTestId('ab-right'), pair.right.url)]);
  };

  const open = async (id) => {
    error.textContent = '';
    experimentId = id;
    try {
      await next();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };

  const cast = (choice) => async () => {
    if (!pair) return;
    try {
      await call('POST', `/v1/experiments/${experimentId}/votes`, { pairId: pair.pairId, choice });
      await next();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  byTestId('ab-choose-left').addEventListener('click', cast('left'));
  byTestId('ab-choose-right').addEventListener('click', cast('right'));
  byTestId('ab-both-bad').addEventListener('click', cast('both-bad'));

  byTestId('ab-open').addEventListener('submit', (event) => {
    event.preventDefault();
    const id = byTestId('ab-id').value.trim();
    if (id) void open(id);
  });
  byTestId('ab-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      const configurations = JSON.parse(byTestId('ab-configs').value);
      const seedPaths = byTestId('ab-seeds').value.split('\n').map((s) => s.trim()).filter(Boolean);
      const { experiment } = await call('POST', '/v1/experiments', { name: byTestId('ab-name').value.trim(), brandPath: byTestId('ab-brand').value.trim(), seedPaths, configurations });
      byTestId('ab-id').value = experiment.id;
      await open(experiment.id);
    } catch (failure) {
      error.textContent = failure instanceof SyntaxError ? 'The configurations are not valid JSON.' : failure.message;
    }
  });
}

setUpSignIn();
setUpReview();
setUpExperiments();
