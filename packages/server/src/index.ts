// The platform's public surface: each module adds its exports here by name.
export {};
