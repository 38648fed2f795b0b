// Drag and drop onto an upload form (class "dropzone"): the dropped files fill its file input and the form is sent.
// Without JavaScript the form works as it is (choose a file, press Upload).
"use strict";
document.querySelectorAll("form.dropzone").forEach(function (form) {
  var input = form.querySelector('input[type="file"]');
  if (!input) { return; }
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (event) {
      event.preventDefault();
      form.classList.add("dragging");
    });
  });
  ["dragleave", "dragend"].forEach(function (name) {
    form.addEventListener(name, function () { form.classList.remove("dragging"); });
  });
  form.addEventListener("drop", function (event) {
    event.preventDefault();
    form.classList.remove("dragging");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || files.length === 0) { return; }
    if (!input.multiple && files.length > 1) { return; }
    input.files = files;
    form.requestSubmit ? form.requestSubmit() : form.submit();
  });
});
