// The print buttons (welcome letter, readable "Mine data"). The portal's only other script
// is show-password.js.
// Without JavaScript the button stays hidden and the page says to use the browser's Print.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
