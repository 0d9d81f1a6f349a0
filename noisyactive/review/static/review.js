// The review page: answers go to the server one by one (each is saved at once).
(function () {
  "use strict";
  // data, not code (the page allows no inline script): classes, their keys,
  // and the per-launch token every request must carry
  const config = JSON.parse(document.getElementById("review-config").textContent);
  const keys = config.keys || [];
  const classes = config.classes || [];
  const auth = { [config.tokenHeader]: config.token };
  const $ = (sel) => document.querySelector(sel);
  let focused = null;

  // several reviewers: who is reviewing (remembered by this browser) goes in
  // the page's address and with every answer; each sees only their questions
  const STORE = "noisyactive-reviewer";
  const params = new URLSearchParams(window.location.search);
  let reviewer = null;
  if (config.askReviewer) {
    reviewer = params.get("reviewer") || window.localStorage.getItem(STORE);
    if (!reviewer) {
      const form = document.createElement("form");
      form.id = "reviewer-form";
      form.innerHTML = '<label>Who is reviewing? <input id="reviewer-name" ' +
        'autocomplete="name" required></label> <button type="submit">Start</button>';
      document.body.prepend(form);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const name = $("#reviewer-name").value.trim();
        if (!name) return;
        window.localStorage.setItem(STORE, name);
        params.set("reviewer", name);
        window.location.search = params.toString();
      });
      return;
    }
    window.localStorage.setItem(STORE, reviewer);
    if (params.get("reviewer") !== reviewer) {
      params.set("reviewer", reviewer);
      window.location.replace("?" + params.toString());
      return;
    }
  }

  // the open questions (answered cards move to #answered-items, where an
  // "undo / change" reopens them; a new answer there is saved as a correction)
  function items() { return Array.from(document.querySelectorAll("#items .item")); }

  function focus(item) {
    if (focused) focused.classList.remove("focused");
    focused = item || null;
    if (focused) {
      focused.classList.add("focused");
      focused.focus({ preventScroll: true });
      focused.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  }

  function showError(message) {
    const box = $("#error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function setProgress(p) {
    $("#answered").textContent = p.answered;
    $("#batch").textContent = p.batch;
    $("#budget-left").textContent = p.budget_left;
    $("#progress").dataset.answered = p.answered;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, auth),
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  async function answer(item, label) {
    if (!item || item.dataset.busy) return;
    item.dataset.busy = "1";
    try {
      const body = { index: Number(item.dataset.index), label: label };
      if (reviewer) body.annotator = reviewer;
      const data = await post("api/answer", body);
      showError("");
      delete item.dataset.busy;
      item.querySelector(".answer-text").textContent = label || "not sure";
      item.classList.remove("reopened");
      setProgress(data.progress);
      if (item.classList.contains("answered")) { focus(null); return; }
      const list = items();
      const next = list[list.indexOf(item) + 1] || list[list.indexOf(item) - 1];
      item.classList.add("answered");
      $("#answered-items").prepend(item);
      $("#answered-section").hidden = false;
      focus(next);
      if (!items().length) {
        if (data.training && data.training.state === "training") watchTraining();
        else $("#done").hidden = false;
      }
    } catch (err) {
      delete item.dataset.busy;
      showError("Not saved: " + err.message);
    }
  }

  function reopen(item) {
    item.classList.add("reopened");
    focus(item);
  }

  async function nextRound() {
    try {
      await post("api/next");
      watchTraining();
    } catch (err) { showError(err.message); }
  }

  function watchTraining() {
    $("#done").hidden = true;
    $("#answered-section").hidden = true;
    $("#training").hidden = false;
    const timer = setInterval(async () => {
      const data = await fetch("api/status", { headers: auth }).then((r) => r.json());
      const t = data.training;
      $("#elapsed").textContent = Math.round(t.elapsed_s || 0);
      if (t.state === "training") return;
      clearInterval(timer);
      if (t.state === "error") {
        $("#training").hidden = true;
        showError(t.message);
        $("#done").hidden = false;
      } else {
        window.location.reload();
      }
    }, 500);
  }

  function zoom(src) {
    const box = $("#zoom");
    box.querySelector("img").src = src;
    box.hidden = false;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-label]");
    if (button) { answer(button.closest(".item"), button.dataset.label); return; }
    if (event.target.closest("#next-round")) { nextRound(); return; }
    const change = event.target.closest("button.change");
    if (change) { reopen(change.closest(".item")); return; }
    const img = event.target.closest(".item img");
    if (img) { focus(img.closest(".item")); zoom(img.src); return; }
    if (event.target.closest("#zoom")) { $("#zoom").hidden = true; return; }
    const item = event.target.closest(".item");
    if (item) focus(item);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const zoomed = !$("#zoom").hidden;
    if (event.key === "Escape" || (zoomed && event.key === "z")) {
      $("#zoom").hidden = true; return;
    }
    const list = items();
    const at = list.indexOf(focused);
    if (event.key === "ArrowRight" || event.key === "ArrowDown") {
      focus(list[Math.min(at + 1, list.length - 1)]); event.preventDefault(); return;
    }
    if (event.key === "ArrowLeft" || event.key === "ArrowUp") {
      focus(list[Math.max(at - 1, 0)]); event.preventDefault(); return;
    }
    if (!focused) return;
    // a collapsed answered card takes no answer keys: "undo / change" first
    if (focused.classList.contains("answered") && !focused.classList.contains("reopened")) return;
    if (event.key === "z") { zoom(focused.querySelector("img").src); return; }
    if (event.key === "/" || event.key === "?") { answer(focused, ""); event.preventDefault(); return; }
    const k = keys.indexOf(event.key.toLowerCase());
    if (k >= 0) { $("#zoom").hidden = true; answer(focused, classes[k]); }
  });

  focus(items()[0]);
  if (!$("#training").hidden) watchTraining();
})();
