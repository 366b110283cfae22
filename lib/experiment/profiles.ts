// Run profiles, read by every notebook: how much compute a run may take.
export type ProfileName = 'smoke' | 'quick' | 'paper';

export const PROFILES: Record<ProfileName, string> = {
  smoke: 'each notebook in under 90 s on 2 cores: tiny subsets, a few steps; what the tests run. Numbers mean nothing.',
  quick: 'each notebook in at most 15 min on 2 cores on wasm: small subsets and models; the default of `npm run reproduce`.',
  paper: "the papers' own settings (data sets, architectures, epochs): meant for a GPU (tfjs-node-gpu).",
};

/** The active profile: GRADREG_PROFILE, default quick. */
export function activeProfile(): ProfileName {
  const v = (process.env.GRADREG_PROFILE ?? 'quick').trim();
  if (v in PROFILES) return v as ProfileName;
  throw new Error(`GRADREG_PROFILE="${v}" is not a profile: use one of ${Object.keys(PROFILES).join(', ')}.`);
}
