// Bootstrap for the vendored GraphiQL (see README.md). Kept out of
// index.html so the page runs under a CSP without 'unsafe-inline' scripts.
(function () {
  'use strict';
  var scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  var fetcher = GraphiQL.createFetcher({
    url: '/graphql',
    // Opened only when a subscription runs; the header editor's headers
    // are sent as the `connection_init` payload.
    subscriptionUrl: scheme + '//' + window.location.host + '/graphql/ws',
  });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      isHeadersEditorEnabled: true,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
    })
  );
})();
