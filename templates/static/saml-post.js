// Sends the SAML HTTP-POST binding form on saml_post.html as soon as the
// page has loaded. Without JavaScript the user presses Continue instead.
// A file rather than inline code, so the Content-Security-Policy can keep
// script-src 'self'.
(function () {
  var form = document.getElementById("saml-post");
  if (form) {
    form.submit();
  }
})();
