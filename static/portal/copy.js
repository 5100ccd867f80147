// Copy buttons: progressive enhancement; without JavaScript the field can be copied by hand.
// The page gives the status texts in its language (data-copied, data-copy-failed).
document.querySelectorAll("[data-copy-from]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy-from"));
  var status = button.parentElement.querySelector(".copy-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    field.select();
    navigator.clipboard.writeText(field.value).then(function () {
      if (status) { status.textContent = button.getAttribute("data-copied") || "Copied."; }
    }, function () {
      if (status) { status.textContent = button.getAttribute("data-copy-failed") || "Select the token and copy it by hand."; }
    });
  });
});
