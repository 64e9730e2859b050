// The photo page: a live character counter for each variant as its platform counts it
// (window.postLength, from post_length.js), the text the copy buttons take from the edited
// fields, and a spoken "done" when the results region finishes updating.
(function () {
  "use strict";
  const NEAR_LIMIT_SHARE = 0.9;

  function fields(variant) {
    return {
      caption: variant.querySelector(".caption-edit"),
      hashtags: variant.querySelector(".hashtags-edit"),
    };
  }

  function hashtagsOf(variant) {
    return fields(variant).hashtags.value.trim().split(/\s+/).filter(Boolean).join(" ");
  }

  // The text a copy button takes: the same composition as captions.platforms.compose_post.
  window.variantText = function (variant, part) {
    const caption = fields(variant).caption.value.trim();
    const hashtags = hashtagsOf(variant);
    if (part === "caption") return caption;
    if (part === "hashtags") return hashtags;
    const separator = variant.dataset.separator;
    return caption && hashtags ? caption + separator + hashtags : caption || hashtags;
  };

  function count(variant) {
    const counter = variant.querySelector("[data-counter]");
    const warning = variant.querySelector(".limit-warning");
    if (!counter || !window.postLength) return;
    const limit = Number(variant.dataset.limit);
    const used = window.postLength(window.variantText(variant, "post"), variant.dataset.platform);
    const state = used > limit ? "over" : used >= limit * NEAR_LIMIT_SHARE ? "near" : "ok";
    counter.textContent = `${used.toLocaleString("en")} / ${limit.toLocaleString("en")}`;
    counter.classList.remove("counter-ok", "counter-near", "counter-over");
    counter.classList.add(`counter-${state}`);
    // The warning changes only when the state does, so a screen reader hears it once.
    if (warning && warning.dataset.state !== state) {
      warning.dataset.state = state;
      warning.textContent =
        state === "over"
          ? ` — over the limit by ${(used - limit).toLocaleString("en")}: shorten it before posting`
          : state === "near"
            ? " — close to the limit"
            : "";
    }
  }

  function countAll() {
    document.querySelectorAll(".suggestion[data-limit]").forEach(count);
  }

  document.addEventListener("input", (event) => {
    const variant = event.target.closest(".suggestion[data-limit]");
    if (variant) count(variant);
  });

  const FINAL = ["done", "partial", "failed", "cancelled", "held"];
  let lastStatus = null;

  function announce() {
    const region = document.getElementById("generation");
    const announcer = document.getElementById("job-announcer");
    if (!region || !announcer) return;
    const status = region.dataset.status;
    if (lastStatus && !FINAL.includes(lastStatus) && FINAL.includes(status)) {
      const label = region.querySelector(".job-status .status");
      const variants = region.querySelectorAll(".suggestion").length;
      const ready = variants ? ` ${variants} caption${variants === 1 ? "" : "s"} ready to post.` : "";
      announcer.textContent = `${label ? label.textContent.trim() : "Finished"}.${ready}`;
    }
    lastStatus = status;
  }

  document.addEventListener("DOMContentLoaded", () => {
    countAll();
    announce();
  });
  // After htmx swaps the results or the suggestions in, edited fields were kept
  // (hx-preserve) while their counters came from the server: count again.
  document.addEventListener("htmx:afterSettle", () => {
    countAll();
    announce();
  });
})();
