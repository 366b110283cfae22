// Run profiles, read by every notebook: how much compute a run may take.
export type ProfileName = 'smoke' | 'quick' | 'paper';

export const PROFILES: Record<ProfileName, string> = {
  smoke: 'each notebook in under 90 s on 2 cores: tiny subsets, a few steps; what the tests run. Numbers mean nothing.',
  quick: 'each notebook in at most 15 min on 2 cores on wasm: small subsets and models; the default of `npm run reproduce`.',
  paper: "the papers' own settings (data sets, architectures, epochs): meant for a GPU (tfjs-node-gpu).",
};

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export const DEFAULT_PROFILE: ProfileName = 'quick';

/** Each notebook's time budget on 2 cores (the runner warns past it); null: no budget (GPU runs take what they take). */
export const PROFILE_BUDGET_S: Record<ProfileName, number | null> = {
  smoke: 90,
  quick: 15 * 60,
  paper: null,
};

/**
 * How long the headless runner lets one notebook run before killing it (override with --timeout). Well above each
 * profile's budget, because a shared or slower machine must not turn a healthy run into a failure.
 */
export const NOTEBOOK_TIMEOUT_S: Record<ProfileName, number> = {
  smoke: 300,
  quick: 3600,
  paper: 7 * 24 * 3600,
};

/** Checks a profile name; the error names the allowed ones. `source` says where the name came from. */
export function parseProfile(name: string, source = 'profile'): ProfileName {
  const v = name.trim();
  if (Object.prototype.hasOwnProperty.call(PROFILES, v)) return v as ProfileName;
  throw new Error(`${source}="${name}" is not a profile: use one of ${PROFILE_NAMES.join(', ')}.`);
}

/** The active profile: GRADREG_PROFILE, default quick. */
export function activeProfile(): ProfileName {
  const v = process.env.GRADREG_PROFILE;
  return v === undefined || v.trim() === '' ? DEFAULT_PROFILE : parseProfile(v, 'GRADREG_PROFILE');
}
