/**
 * The rater's page script (plain browser JavaScript, served as /assets/listening.js). The server
 * decides every step (stage, next clip, progress); the page plays the audio, enables the rating
 * buttons only after the clip has played to its `ended` event, and posts the answer.
 */
export const LISTENING_RATER_SCRIPT = `
(function () {
  "use strict";
  var root = document.getElementById("listen-app");
  var base = root.getAttribute("data-api");
  var state = null;
  var busy = false;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function api(method, path, body) {
    return fetch(base + path, {
      method: method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error((data && data.message) || ("HTTP " + response.status));
        return data;
      });
    });
  }

  function showError(message) {
    var box = document.getElementById("listen-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  /** Plays the URLs one after another; resolves after the last one's "ended". */
  function playAll(urls, label) {
    return urls.reduce(function (chain, url, i) {
      return chain.then(function () {
        return new Promise(function (resolve, reject) {
          var audio = new Audio(url);
          audio.preload = "auto";
          label.textContent = urls.length > 1 ? (i === 0 ? "Playing the reference (A)…" : "Playing the sample to rate (B)…") : "Playing…";
          audio.addEventListener("ended", function () { resolve(); });
          audio.addEventListener("error", function () { reject(new Error("the audio could not be played")); });
          var started = audio.play();
          if (started && started.catch) started.catch(reject);
        });
      });
    }, Promise.resolve()).then(function () { label.textContent = "Played to the end."; });
  }

  function render() {
    showError("");
    root.setAttribute("data-stage", state.stage);
    var view = document.getElementById("listen-view");
    view.innerHTML = "";
    var p = state.progress;
    var progress = document.getElementById("listen-progress");
    progress.textContent = state.stage === "training"
      ? "Training clip " + (p.trainingDone + 1) + " of " + p.trainingTotal
      : "Rated " + p.done + " of " + p.total;
    document.getElementById("listen-bar").style.width = (p.total ? (100 * p.done / p.total) : 0) + "%";

    if (state.stage === "hearing") {
      var status = el("p", { class: "hint", id: "play-status", text: "Set your volume to a comfortable level, then play." });
      var input = el("input", { id: "hearing-answer", inputmode: "numeric", autocomplete: "off", placeholder: "digits you heard" });
      var submit = el("button", { id: "hearing-submit", type: "button", text: "Submit" });
      input.disabled = true;
      submit.disabled = true;
      var play = el("button", { id: "play", type: "button", text: "Play the check" });
      play.addEventListener("click", function () {
        play.disabled = true;
        playAll([state.hearing.audio], status).then(function () {
          input.disabled = false;
          submit.disabled = false;
          play.disabled = false;
          input.focus();
        }, function (e) { play.disabled = false; showError(e.message); });
      });
      submit.addEventListener("click", function () {
        if (busy) return;
        busy = true;
        api("POST", "/hearing", { answer: input.value }).then(function (next) {
          busy = false;
          state = next;
          render();
          if (!next.passed && next.stage === "hearing") showError("That was not right. Attempts left: " + next.hearing.attemptsLeft + ". Check your volume and play again.");
        }, function (e) { busy = false; showError(e.message); });
      });
      view.appendChild(el("div", { class: "card" }, [
        el("h2", { text: "Hearing and volume check" }),
        el("p", { text: "You will hear a short tone and then a few digits, spoken quietly. Type the digits you heard." }),
        play, status, input, submit,
      ]));
      return;
    }
    if (state.stage === "hearing-failed") {
      view.appendChild(el("div", { class: "card", id: "listen-end" }, [el("h2", { text: "Thank you" }), el("p", { text: "The hearing check was not passed, so this test cannot continue." })]));
      return;
    }
    if (state.stage === "done") {
      view.appendChild(el("div", { class: "card", id: "listen-end" }, [el("h2", { text: "Thank you!" }), el("p", { text: "All " + p.total + " samples are rated. You can close this page." })]));
      return;
    }
    var item = state.item;
    var urls = item.reference ? [item.reference, item.audio] : [item.audio];
    var playStatus = el("p", { class: "hint", id: "play-status", text: item.reference ? "Play the pair: first the reference (A), then the sample (B)." : "Play the sample; you can rate once it has played to the end." });
    var buttons = state.scale.options.map(function (o) {
      var b = el("button", { type: "button", class: "score", "data-score": String(o.score), text: o.score + " – " + o.label });
      b.disabled = true;
      b.addEventListener("click", function () {
        if (busy) return;
        busy = true;
        buttons.forEach(function (x) { x.disabled = true; });
        api("POST", "/ratings", { clipId: item.clipId, score: o.score }).then(function (next) {
          busy = false;
          state = next;
          render();
        }, function (e) { busy = false; showError(e.message); refresh(); });
      });
      return b;
    });
    var playButton = el("button", { id: "play", type: "button", text: item.reference ? "Play A then B" : "Play" });
    playButton.addEventListener("click", function () {
      playButton.disabled = true;
      playAll(urls, playStatus).then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        playButton.disabled = false;
        root.setAttribute("data-played", String(item.clipId));
      }, function (e) { playButton.disabled = false; showError(e.message); });
    });
    view.appendChild(el("div", { class: "card", id: "listen-item", "data-clip": String(item.clipId) }, [
      el("h2", { text: state.stage === "training" ? "Training" : "Rate the sample" }),
      el("p", { text: state.scale.question + (state.stage === "training" ? " (training: these answers are not counted)" : "") }),
      playButton, playStatus,
      el("div", { class: "scores" }, buttons),
    ]));
  }

  function refresh() {
    return api("GET", "/state").then(function (s) { state = s; render(); }, function (e) { showError(e.message); });
  }
  refresh();
})();
`;
