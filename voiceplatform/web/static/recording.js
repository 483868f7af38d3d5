// The recording page: the waveform (drawn from the peaks on a canvas; a click seeks), transcript
// lines that seek the audio, the line being heard highlighted, and a fresh signed URL when the
// page's one has expired (a POST with the session's CSRF token).
(function () {
  "use strict";
  var audio = document.getElementById("player");
  if (!audio) { return; }
  var canvas = document.getElementById("waveform");
  var peaksNode = document.getElementById("peaks");
  var peaks = peaksNode ? JSON.parse(peaksNode.textContent || "[]") : [];
  var segments = Array.prototype.slice.call(document.querySelectorAll("#transcript .segment"));
  var knownDuration = parseFloat(audio.dataset.duration) || 0;

  function duration() {
    return isFinite(audio.duration) && audio.duration > 0 ? audio.duration : knownDuration;
  }

  function draw() {
    if (!canvas) { return; }
    var context = canvas.getContext("2d");
    var width = canvas.width, height = canvas.height, middle = height / 2;
    var played = duration() ? audio.currentTime / duration() : 0;
    context.clearRect(0, 0, width, height);
    var count = peaks.length || 1;
    var step = width / count;
    for (var i = 0; i < peaks.length; i++) {
      var x = i * step;
      var half = Math.max(1, Math.min(1, Math.max(0, peaks[i])) * (middle - 2));
      context.fillStyle = (i + 0.5) / count <= played ? "#1f6feb" : "#9aa7b8";
      context.fillRect(x, middle - half, Math.max(1, step - 1), half * 2);
    }
    if (!peaks.length) {
      context.fillStyle = "#9aa7b8";
      context.fillRect(0, middle - 1, width, 2);
    }
    context.fillStyle = "#d1242f";
    context.fillRect(Math.round(played * width), 0, 2, height);
  }

  function seek(seconds, andPlay) {
    var target = Math.max(0, Math.min(seconds, duration() || seconds));
    if (audio.readyState < 1) {  // nothing loaded yet (the player preloads nothing)
      audio.addEventListener("loadedmetadata", function () {
        audio.currentTime = target;
        if (andPlay) { audio.play(); }
      }, { once: true });
      audio.load();
      return;
    }
    audio.currentTime = target;
    if (andPlay) { audio.play(); }
    draw();
  }

  function highlight() {
    var now = audio.currentTime;
    segments.forEach(function (segment) {
      var start = parseFloat(segment.dataset.start), end = parseFloat(segment.dataset.end);
      segment.classList.toggle("current", now >= start && now < end);
    });
  }

  if (canvas) {
    canvas.addEventListener("click", function (event) {
      var box = canvas.getBoundingClientRect();
      seek(((event.clientX - box.left) / box.width) * duration(), !audio.paused);
    });
  }
  segments.forEach(function (segment) {
    segment.addEventListener("click", function () { seek(parseFloat(segment.dataset.start), true); });
  });

  var playButton = document.getElementById("play");
  var position = document.getElementById("position");
  if (playButton) {
    playButton.addEventListener("click", function () {
      if (audio.paused) {
        if (audio.ended) { audio.currentTime = 0; }
        audio.play();
      } else {
        audio.pause();
      }
    });
  }
  function showState() {
    if (playButton) { playButton.textContent = audio.paused ? "Play" : "Pause"; }
    if (position) {
      var seconds = Math.floor(audio.currentTime);
      position.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    }
  }

  var frame = null;
  function tick() {
    draw();
    highlight();
    showState();
    frame = audio.paused ? null : window.requestAnimationFrame(tick);
  }
  audio.addEventListener("play", function () { if (frame === null) { frame = window.requestAnimationFrame(tick); } });
  ["timeupdate", "seeked", "loadedmetadata", "play", "pause", "ended"].forEach(function (name) {
    audio.addEventListener(name, function () { draw(); highlight(); showState(); });
  });

  // The signed URL lives a few minutes: when the player is refused, ask for a new one and go on
  // (playing again if the person had asked to play: a failed load pauses the element).
  var wantsToPlay = false;
  audio.addEventListener("play", function () { wantsToPlay = true; });
  audio.addEventListener("pause", function () { if (!audio.error) { wantsToPlay = false; } });
  audio.addEventListener("ended", function () { wantsToPlay = false; });
  var lastRefresh = 0;
  audio.addEventListener("error", function () {
    if (Date.now() - lastRefresh < 10000) { return; }
    lastRefresh = Date.now();
    var position = audio.currentTime, wasPlaying = wantsToPlay || !audio.paused;
    fetch(audio.dataset.refreshUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": audio.dataset.csrf, "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("refresh refused: " + response.status); }
      return response.json();
    }).then(function (body) {
      audio.src = body.url;
      seek(position, wasPlaying);
    }).catch(function (error) { console.warn(error); });
  });

  draw();
}());
