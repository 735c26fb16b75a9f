// The console's only script: the copy button of a share link. Without it
// the link is still in a read-only field to select and copy by hand.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) { return; }
  var field = document.getElementById(button.getAttribute("data-copy"));
  var status = document.getElementById("copy-status");
  if (!field) { return; }
  field.select();
  var done = function () { if (status) { status.textContent = "Copied."; } };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(field.value).then(done, function () {
      if (status) { status.textContent = "Select the link and copy it."; }
    });
  } else {
    done();
  }
});
