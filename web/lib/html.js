// The view layer in one import: Preact with htm tagged templates (no JSX, no build step) and
// signals, from the vendored files in web/vendor/ (resolved by the shell's import map).

import { h, render, Fragment, createContext } from 'preact';
import htm from 'htm';

export { h, render, Fragment, createContext };
export { useState, useEffect, useRef, useMemo, useCallback, useContext, useLayoutEffect, useId } from 'preact/hooks';
export { signal, computed, effect, batch, useSignal, useComputed, useSignalEffect } from '@preact/signals';

export const html = htm.bind(h);
