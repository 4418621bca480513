// "Vis adgangskode" on the sign-in form: a box that shows the password as it is typed.
// Without JavaScript the box stays hidden, and the field works as any password field.
document.querySelectorAll("[data-show-password]").forEach((box) => {
  const field = document.getElementById(box.dataset.showPassword);
  if (!field) return;
  box.closest("[hidden]")?.removeAttribute("hidden");
  box.addEventListener("change", () => {
    field.type = box.checked ? "text" : "password";
  });
});
