// Switch the change page between inline and side-by-side without a reload (the link works without it).
document.addEventListener("DOMContentLoaded", function () {
  var toggle = document.getElementById("view-toggle");
  var redline = document.getElementById("redline");
  if (!toggle || !redline) return;
  toggle.addEventListener("click", function (event) {
    event.preventDefault();
    var side = redline.classList.contains("view-inline");
    redline.classList.toggle("view-inline", !side);
    redline.classList.toggle("view-side", side);
    var label = toggle.getAttribute("data-other");
    toggle.setAttribute("data-other", toggle.textContent);
    toggle.textContent = label;
    toggle.setAttribute("href", "?view=" + (side ? "inline" : "side"));
    var url = new URL(window.location.href);
    url.searchParams.set("view", side ? "side" : "inline");
    window.history.replaceState(null, "", url);
  });
});
