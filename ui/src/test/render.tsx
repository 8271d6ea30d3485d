import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import type { Api } from '../api/client';
import { ApiContext } from '../api/context';
import { Router } from '../router';

/** renderWithApi renders ui inside the API context and the router, at path. */
export function renderWithApi(ui: ReactElement, api: Api, path = '/') {
  window.history.replaceState(null, '', path);
  return render(
    <ApiContext.Provider value={api}>
      <Router>{ui}</Router>
    </ApiContext.Provider>,
  );
}
