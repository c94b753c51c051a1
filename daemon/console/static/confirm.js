// Forms that change something for good ask first: <form data-confirm="…を削除しますか？">.
// A script file of its own: the console's Content-Security-Policy allows no inline script.
document.addEventListener("submit", (event) => {
  const words = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (words && !window.confirm(words)) {
    event.preventDefault();
  }
});
