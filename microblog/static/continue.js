// The provider posted its answer to us from its own site, so it came without our cookies.
// Send it on from this page, a same-site request that carries them; the button does the same.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("continue-sign-in");
  if (form) {
    form.submit();
  }
});
