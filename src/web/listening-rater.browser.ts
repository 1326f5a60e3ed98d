// The rater's page script (served as /assets/listening.js, bundled by common/browser-bundle.ts). The
// server decides every step (stage, next clip, progress); the page plays the audio, enables the
// rating buttons only after the clip has played to its `ended` event, and posts the answer.

/** quality/listening's RaterState as the page reads it (GET …/state, POST …/hearing and …/ratings). */
interface RaterState {
  stage: "hearing" | "hearing-failed" | "training" | "rating" | "done";
  scale: { question: string; options: ReadonlyArray<{ score: number; label: string }> };
  hearing: { audio: string; attemptsLeft: number } | null;
  item: { clipId: number; audio: string; reference: string | null } | null;
  progress: { done: number; total: number; trainingDone: number; trainingTotal: number };
  /** Only in the answer to a hearing check. */
  passed?: boolean;
}

/** Attributes of `el`; `text` is the node's text, every other key an attribute. */
type Attributes = Record<string, string>;

// A module (its names stay its own); esbuild wraps it in one function.
export {};

const root = document.getElementById("listen-app") as HTMLElement;
const base = root.getAttribute("data-api");
let state: RaterState;
let busy = false;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attributes,
  children?: readonly Node[],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children ?? []) node.appendChild(c);
  return node;
}

function api(method: string, path: string, body?: unknown): Promise<RaterState> {
  return fetch(base + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  }).then((response) =>
    response.json().then((data) => {
      if (!response.ok) throw new Error(data?.message || `HTTP ${response.status}`);
      return data as RaterState;
    }),
  );
}

function showError(message: string) {
  const box = document.getElementById("listen-error") as HTMLElement;
  box.textContent = message || "";
  box.hidden = !message;
}

/** Plays the URLs one after another; resolves after the last one's "ended". */
function playAll(urls: readonly string[], label: HTMLElement): Promise<void> {
  return urls
    .reduce(
      (chain, url, i) =>
        chain.then(
          () =>
            new Promise<void>((resolve, reject) => {
              const audio = new Audio(url);
              audio.preload = "auto";
              label.textContent =
                urls.length > 1
                  ? i === 0
                    ? "Playing the reference (A)…"
                    : "Playing the sample to rate (B)…"
                  : "Playing…";
              audio.addEventListener("ended", () => resolve());
              audio.addEventListener("error", () => reject(new Error("the audio could not be played")));
              const started = audio.play();
              if (started?.catch) started.catch(reject);
            }),
        ),
      Promise.resolve(),
    )
    .then(() => {
      label.textContent = "Played to the end.";
    });
}

function render() {
  showError("");
  root.setAttribute("data-stage", state.stage);
  const view = document.getElementById("listen-view") as HTMLElement;
  view.innerHTML = "";
  const p = state.progress;
  const progress = document.getElementById("listen-progress") as HTMLElement;
  progress.textContent =
    state.stage === "training"
      ? `Training clip ${p.trainingDone + 1} of ${p.trainingTotal}`
      : `Rated ${p.done} of ${p.total}`;
  (document.getElementById("listen-bar") as HTMLElement).style.width = `${p.total ? (100 * p.done) / p.total : 0}%`;

  if (state.stage === "hearing") {
    const hearing = state.hearing as NonNullable<RaterState["hearing"]>;
    const status = el("p", {
      class: "hint",
      id: "play-status",
      text: "Set your volume to a comfortable level, then play.",
    });
    const input = el("input", {
      id: "hearing-answer",
      inputmode: "numeric",
      autocomplete: "off",
      placeholder: "digits you heard",
    });
    const submit = el("button", { id: "hearing-submit", type: "button", text: "Submit" });
    input.disabled = true;
    submit.disabled = true;
    const play = el("button", { id: "play", type: "button", text: "Play the check" });
    play.addEventListener("click", () => {
      play.disabled = true;
      playAll([hearing.audio], status).then(
        () => {
          input.disabled = false;
          submit.disabled = false;
          play.disabled = false;
          input.focus();
        },
        (e: Error) => {
          play.disabled = false;
          showError(e.message);
        },
      );
    });
    submit.addEventListener("click", () => {
      if (busy) return;
      busy = true;
      api("POST", "/hearing", { answer: input.value }).then(
        (next) => {
          busy = false;
          state = next;
          render();
          if (!next.passed && next.stage === "hearing")
            showError(
              `That was not right. Attempts left: ${next.hearing?.attemptsLeft}. Check your volume and play again.`,
            );
        },
        (e: Error) => {
          busy = false;
          showError(e.message);
        },
      );
    });
    view.appendChild(
      el("div", { class: "card" }, [
        el("h2", { text: "Hearing and volume check" }),
        el("p", {
          text: "You will hear a short tone and then a few digits, spoken quietly. Type the digits you heard.",
        }),
        play,
        status,
        input,
        submit,
      ]),
    );
    return;
  }
  if (state.stage === "hearing-failed") {
    view.appendChild(
      el("div", { class: "card", id: "listen-end" }, [
        el("h2", { text: "Thank you" }),
        el("p", { text: "The hearing check was not passed, so this test cannot continue." }),
      ]),
    );
    return;
  }
  if (state.stage === "done") {
    view.appendChild(
      el("div", { class: "card", id: "listen-end" }, [
        el("h2", { text: "Thank you!" }),
        el("p", { text: `All ${p.total} samples are rated. You can close this page.` }),
      ]),
    );
    return;
  }
  const item = state.item as NonNullable<RaterState["item"]>;
  const urls = item.reference ? [item.reference, item.audio] : [item.audio];
  const playStatus = el("p", {
    class: "hint",
    id: "play-status",
    text: item.reference
      ? "Play the pair: first the reference (A), then the sample (B)."
      : "Play the sample; you can rate once it has played to the end.",
  });
  const buttons = state.scale.options.map((o) => {
    const b = el("button", {
      type: "button",
      class: "score",
      "data-score": String(o.score),
      text: `${o.score} – ${o.label}`,
    });
    b.disabled = true;
    b.addEventListener("click", () => {
      if (busy) return;
      busy = true;
      for (const x of buttons) x.disabled = true;
      api("POST", "/ratings", { clipId: item.clipId, score: o.score }).then(
        (next) => {
          busy = false;
          state = next;
          render();
        },
        (e: Error) => {
          busy = false;
          showError(e.message);
          refresh();
        },
      );
    });
    return b;
  });
  const playButton = el("button", { id: "play", type: "button", text: item.reference ? "Play A then B" : "Play" });
  playButton.addEventListener("click", () => {
    playButton.disabled = true;
    playAll(urls, playStatus).then(
      () => {
        for (const b of buttons) b.disabled = false;
        playButton.disabled = false;
        root.setAttribute("data-played", String(item.clipId));
      },
      (e: Error) => {
        playButton.disabled = false;
        showError(e.message);
      },
    );
  });
  view.appendChild(
    el("div", { class: "card", id: "listen-item", "data-clip": String(item.clipId) }, [
      el("h2", { text: state.stage === "training" ? "Training" : "Rate the sample" }),
      el("p", {
        text: state.scale.question + (state.stage === "training" ? " (training: these answers are not counted)" : ""),
      }),
      playButton,
      playStatus,
      el("div", { class: "scores" }, buttons),
    ]),
  );
}

function refresh() {
  return api("GET", "/state").then(
    (s) => {
      state = s;
      render();
    },
    (e: Error) => showError(e.message),
  );
}
refresh();
