// What the server told the page about itself: the JSON block the HTML shell carries
// (src/web/shell.rs). Read once.

const block = document.getElementById('skyhold-config');

/** `{ assets, serviceDid, appviewProxy, everyoneFeed, publicUrl, hostname, version }` */
export const config = Object.freeze(block ? JSON.parse(block.textContent) : {});
