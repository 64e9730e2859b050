// The upload page: a drop zone with previews and per-file removal, the limits checked before
// sending (the server checks again), a progress bar, and one upload per click. Without this
// script the form is a plain multiple-file input and a submit button, and works the same.
(() => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const zone = document.getElementById("drop-zone");
  const previews = document.getElementById("previews");
  const check = document.getElementById("upload-check");
  const submit = document.getElementById("upload-submit");
  const progress = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-progress-bar");
  const progressText = document.getElementById("upload-progress-text");
  const maxFiles = Number(form.dataset.maxFiles);
  const maxBytes = Number(form.dataset.maxBytes);
  const maxMb = Number(form.dataset.maxMb);
  const types = form.dataset.types.split(",");
  const limit = Number(form.dataset.limit);
  let left = Number(form.dataset.left);
  let chosen = [];
  let sending = false;

  form.classList.add("enhanced");
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const megabytes = (bytes) => Math.ceil(bytes / (1024 * 1024));

  function refused(file) {
    if (!types.includes(file.type)) return `${file.name}: not a JPEG, PNG, WebP or GIF photo`;
    if (file.size > maxBytes) return `${file.name}: too large: ${megabytes(file.size)} MB, limit ${maxMb} MB`;
    return "";
  }

  // What stops the chosen batch from being sent, in words; "" when it may go.
  function batchProblem() {
    if (chosen.length > maxFiles) {
      return `Too many files: ${chosen.length} chosen, limit ${maxFiles} at once. Remove ${chosen.length - maxFiles}.`;
    }
    if (chosen.length > left) {
      // Nothing left, or AI switched off: the quota line says which.
      if (left === 0) return document.getElementById("quota").textContent.replace(/\s+/g, " ").trim();
      return `You have ${left} of ${limit} generations left today: choose at most ${plural(left, "photo")} (${chosen.length} chosen).`;
    }
    return "";
  }

  function sync() {
    const transfer = new DataTransfer();
    chosen.forEach((file) => transfer.items.add(file));
    input.files = transfer.files;
  }

  function render() {
    previews.querySelectorAll("img").forEach((img) => URL.revokeObjectURL(img.src));
    previews.replaceChildren();
    chosen.forEach((file, index) => {
      const item = document.createElement("li");
      item.className = "preview";
      const img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = "";
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = file.name;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${file.name}`);
      remove.addEventListener("click", () => {
        chosen.splice(index, 1);
        update([]);
        const next = previews.querySelectorAll("button.remove");
        (next[Math.min(index, next.length - 1)] || input).focus();
      });
      item.append(img, name, remove);
      previews.append(item);
    });
    previews.hidden = chosen.length === 0;
  }

  function update(notes) {
    sync();
    render();
    const lines = [...notes];
    const problem = batchProblem();
    if (problem) lines.push(problem);
    check.replaceChildren(...lines.map((line) => {
      const p = document.createElement("p");
      p.textContent = line;
      return p;
    }));
  }

  function add(files) {
    const notes = [];
    for (const file of files) {
      const why = refused(file);
      if (why) notes.push(why);
      else if (!chosen.some((c) => c.name === file.name && c.size === file.size && c.lastModified === file.lastModified)) chosen.push(file);
    }
    update(notes);
  }

  input.addEventListener("change", () => {
    // The picker replaces the input's files: what it brings is added to what was chosen before.
    const picked = [...input.files];
    add(picked);
  });
  // Files chosen before this script ran (a slow page, or the browser restoring the form) never
  // fired the listener above: they are the first ones chosen.
  if (input.files.length) add([...input.files]);
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragging")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    add([...event.dataTransfer.files]);
  });

  function done() {
    sending = false;
    submit.disabled = false;
    submit.textContent = "Upload and generate";
    progress.hidden = true;
  }

  // The server re-rendered the form (a refusal): show its messages, keep the chosen files.
  function showRefusal(xhr) {
    const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    let swapped = 0;
    document.querySelectorAll("[data-swap]").forEach((here) => {
      const there = page.getElementById(here.id);
      if (there) {
        here.replaceWith(document.importNode(there, true));
        swapped += 1;
      }
    });
    if (!swapped) {
      const reason = page.querySelector("main [role=alert], main p");
      check.textContent = `The upload was refused${reason ? `: ${reason.textContent.trim()}` : ` (${xhr.status})`}. Nothing was uploaded.`;
    }
    const fresh = page.getElementById("upload-form");
    if (fresh) left = Number(fresh.dataset.left);
    if (swapped) check.replaceChildren();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sending) return;
    const problem = batchProblem();
    if (problem || chosen.length === 0) {
      update(chosen.length ? [] : ["Choose at least one photo."]);
      return;
    }
    sending = true;
    submit.disabled = true;
    submit.textContent = "Uploading…";
    progress.hidden = false;
    bar.value = 0;
    progressText.textContent = "0 %";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    // The view answers a script with HX-Redirect instead of a redirect, so the page it names still
    // has its messages when this script goes there.
    xhr.setRequestHeader("HX-Request", "true");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      progressText.textContent = `${percent} %`;
    });
    xhr.addEventListener("load", () => {
      const target = xhr.getResponseHeader("HX-Redirect");
      if (target) {
        progressText.textContent = "Sent — opening your results…";
        window.location.assign(target);
        return;
      }
      if (new URL(xhr.responseURL).pathname !== new URL(form.action).pathname) {
        window.location.assign(xhr.responseURL);  // Signed out meanwhile, or an email to confirm.
        return;
      }
      done();
      showRefusal(xhr);
    });
    xhr.addEventListener("error", () => {
      done();
      check.textContent = "The upload did not reach the server: check the connection and try again.";
    });
    xhr.send(new FormData(form));
  });
})();
