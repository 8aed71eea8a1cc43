// The widget's image worker (a module worker). The page never decodes or analyses a picture: it posts
// {id, part, file, profile} here, and this worker answers {id, before, verdict, output, ...} with the
// upload-ready bytes transferred, not copied (see widget/src/imaging). Requests are handled one at a
// time, in order, so a second 12 MP picture never doubles the memory.
import init, * as w from './pkg/intake_widget.js';

// Loaded, then the browser's decoders asked what they can do, before the first picture arrives.
const ready = init().then(() => w.imagingWarmUp());
let queue = Promise.resolve();

// The PDF check (widget/pdf: the rules with their PDF parser, left out of the first load), loaded at
// the first PDF chosen. The widget's module calls it for every PDF attachment; should it fail to load,
// the widget refuses the PDF (file.pdf_checker_unavailable) and the next PDF tries again.
let pdf = null;
self.intakePdf = (field, bytes) => {
  pdf ||= import('./pkg/intake_pdf.js').then(async (m) => {
    await m.default();
    return m;
  }).catch((err) => {
    pdf = null;
    throw err;
  });
  return pdf.then((m) => m.checkAttachment(field, bytes));
};

async function handle(msg) {
  const id = msg && msg.id;
  try {
    await ready;
    const reply = await w.imagingProcess(msg);
    reply.id = id;
    self.postMessage(reply, reply.output ? [reply.output] : []);
  } catch (err) {
    self.postMessage({ id, error: String((err && err.message) || err) });
  }
}

self.onmessage = (e) => {
  queue = queue.then(() => handle(e.data));
};
