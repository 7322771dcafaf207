import { call } from './governance.js';
// The campaigns page: start a creative job (segments × formats × variants), follow its progress
// over server-sent events, and browse the ads as they arrive. Plain module, no third-party code;
// all user-provided text goes through textContent.

const TERMINAL = new Set(['done', 'failed', 'cancelled']);
const STATUS_TEXT = { queued: 'Queued', running: 'Making ads', done: 'Done', failed: 'Failed', cancelled: 'Cancelled' };

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

function setUpJobs() {
  const form = byTestId('job-form');
  const error = byTestId('job-error');
  const card = byTestId('job-card');
  const brand = byTestId('job-brand');
  let source;
  let current;

  const showError = (failure) => {
    error.textContent = failure ? failure.message : '';
    error.hidden = !failure;
  };

  async function loadBrands() {
    try {
      const { items } = await call('GET', '/v1/assets?kind=brand&limit=100');
      brand.replaceChildren(...items.map((asset) => {
        const option = document.createElement('option');
        option.value = asset.path;
        option.textContent = asset.path.split('/').pop();
        return option;
      }));
      if (items.length === 0) {
        const option = document.createElement('option');
        option.value = '';
        option.textContent = 'Upload a brand image first';
        brand.append(option);
      }
    } catch (failure) {
      showError(failure);
    }
  }

  // Several loads can be in flight (one at submit, one when the job ends); only the latest may paint.
  let listGeneration = 0;
  async function loadList() {
    const generation = ++listGeneration;
    try {
      const { items } = await call('GET', '/v1/jobs?limit=10');
      if (generation !== listGeneration) return;
      byTestId('job-list').replaceChildren(...items.map((job) => {
        const item = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'link-button';
        button.textContent = `${new Date(job.createdAt).toLocaleString()} · ${(job.segments ?? job.seedPaths ?? []).join(', ').slice(0, 80)} · ${job.formats.join(' ')} · ${STATUS_TEXT[job.status]} ${job.progress.done}/${job.progress.total}`;
        button.addEventListener('click', () => follow(job.id));
        item.append(button);
        return item;
      }));
    } catch {
      // the list is a convenience; the form still works
    }
  }

  function render(job) {
    if (current && current.id === job.id && current.updatedAt > job.updatedAt) return;
    current = job;
    card.hidden = false;
    byTestId('job-id').textContent = job.id;
    const status = byTestId('job-status');
    status.textContent = STATUS_TEXT[job.status] ?? job.status;
    status.dataset.status = job.status === 'done' ? 'done' : job.status === 'failed' ? 'failed' : 'busy';
    const progress = byTestId('job-progress');
    progress.max = job.progress.total;
    progress.value = job.progress.done + job.progress.failed;
    byTestId('job-progress-text').textContent =
      `${job.progress.done} of ${job.progress.total} ads made` + (job.progress.failed ? `, ${job.progress.failed} failed` : '');
    byTestId('job-cancel').hidden = TERMINAL.has(job.status);
    byTestId('job-failures').replaceChildren(...job.failures.map((failure) => {
      const item = document.createElement('li');
      item.className = 'meta';
      item.textContent = `${failure.segment ?? failure.seedPath ?? ''} ${failure.format} v${failure.variant}: ${failure.reason}`;
      return item;
    }));
    const gallery = byTestId('job-gallery');
    const shown = new Set([...gallery.children].map((li) => li.dataset.index));
    for (const ad of job.ads) {
      if (shown.has(String(ad.index))) continue;
      const item = document.createElement('li');
      item.className = 'hit job-ad';
      item.dataset.index = String(ad.index);
      item.dataset.testid = 'job-ad';
      const link = document.createElement('a');
      link.href = ad.url;
      link.download = `${(ad.segment ?? 'ad').replace(/[^a-z0-9]+/gi, '-')}-${ad.format.replace(':', 'x')}-v${ad.variant}.png`;
      const image = document.createElement('img');
      image.src = ad.url;
      image.alt = `${ad.format} ad, variant ${ad.variant}${ad.segment ? ` for ${ad.segment}` : ''}`;
      image.loading = 'lazy';
      image.style.aspectRatio = `${ad.width} / ${ad.height}`;
      link.append(image);
      const body = document.createElement('div');
      body.className = 'hit-body';
      const title = document.createElement('p');
      title.className = 'hit-caption';
      title.textContent = `${ad.segment ?? ad.seedPath.split('/').pop()} · ${ad.format} · v${ad.variant}`;
      const meta = document.createElement('p');
      meta.className = 'hit-score';
      const provenance = document.createElement('a');
      provenance.href = `/v1/assets/content?path=${encodeURIComponent(ad.provenancePath)}`;
      provenance.textContent = 'provenance';
      provenance.target = '_blank';
      meta.append(`${ad.width}×${ad.height} · `, provenance);
      if (ad.warnings.length) meta.append(` · ⚠ ${ad.warnings.join('; ')}`);
      body.append(title, meta);
      item.append(link, body);
      gallery.append(item);
    }
    [...gallery.children].sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index)).forEach((li) => gallery.append(li));
    if (TERMINAL.has(job.status)) {
      source?.close();
      source = undefined;
      void loadList();
    }
  }

  function follow(id) {
    source?.close();
    current = undefined;
    byTestId('job-gallery').replaceChildren();
    source = new EventSource(`/v1/jobs/${encodeURIComponent(id)}/events`);
    source.addEventListener('state', (event) => render(JSON.parse(event.data)));
    // The stream ends with the job; fetch once more so the last state is never missed.
    source.addEventListener('error', () => {
      source?.close();
      source = undefined;
      call('GET', `/v1/jobs/${encodeURIComponent(id)}`).then(({ job }) => render(job), showError);
    });
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    showError(null);
    const segments = byTestId('job-segments').value.split('\n').map((s) => s.trim()).filter(Boolean);
    const formats = [...form.querySelectorAll('input[name="format"]:checked')].map((input) => input.value);
    if (segments.length === 0) return showError(new Error('Give at least one audience segment.'));
    if (formats.length === 0) return showError(new Error('Choose at least one format.'));
    if (!brand.value) return showError(new Error('Upload a brand image first (Upload tab, kind: brand).'));
    const headline = byTestId('job-headline').value.trim();
    const callToAction = byTestId('job-cta').value.trim();
    const submit = byTestId('job-submit');
    submit.disabled = true;
    try {
      const { job } = await call('POST', '/v1/jobs', {
        brandPath: brand.value, segments, formats, variants: Number(byTestId('job-variants').value),
        ...(headline ? { headline } : {}), ...(callToAction ? { callToAction } : {}),
      });
      render(job);
      follow(job.id);
      void loadList();
    } catch (failure) {
      showError(failure);
    } finally {
      submit.disabled = false;
    }
  });

  byTestId('job-cancel').addEventListener('click', async () => {
    if (!current) return;
    try {
      render((await call('POST', `/v1/jobs/${encodeURIComponent(current.id)}/cancel`)).job);
    } catch (failure) {
      showError(failure);
    }
  });

  byTestId('tab-jobs').addEventListener('click', () => {
    void loadBrands();
    void loadList();
  });
}

setUpJobs();
