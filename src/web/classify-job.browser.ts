// The page of a running classification (served as /assets/classify-job.js, bundled by
// common/browser-bundle.ts): it reloads itself every second until the run is done or failed,
// when the server draws the page without this script.
setTimeout(() => location.reload(), 1000);
