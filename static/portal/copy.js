// Copy buttons: progressive enhancement; without JavaScript the field can be copied by hand.
document.querySelectorAll("[data-copy-from]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy-from"));
  var status = button.parentElement.querySelector(".copy-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    field.select();
    navigator.clipboard.writeText(field.value).then(function () {
      if (status) { status.textContent = "Copied."; }
    }, function () {
      if (status) { status.textContent = "Select the token and copy it by hand."; }
    });
  });
});
