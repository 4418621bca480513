// The welcome letter's print button: the one bit of JavaScript in the portal.
// Without JavaScript the button stays hidden and the page says to use the browser's Print.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
