import { describe, expect, it } from 'vitest';
import { draftIssues, draftOf, toChannel } from '../src/pages/alert-channel-draft.ts';

describe('alert channel drafts', () => {
  it('round-trips each channel type through the form, leaving empty fields out', () => {
    const webhook = {
      type: 'webhook',
      url: 'https://ops.example.com/h',
      headers: { authorization: '********' },
    };
    expect(toChannel(draftOf(webhook))).toEqual(webhook);
    const slack = { type: 'slack', url: 'https://hooks.slack.com/********' };
    expect(toChannel(draftOf(slack))).toEqual(slack);
    const email = {
      type: 'email',
      to: ['a@x.io', 'b@x.io'],
      host: 'smtp.x.io',
      port: 465,
      secure: true,
      credential: 'smtp',
    };
    expect(toChannel(draftOf(email))).toEqual(email);
    expect(toChannel({ ...draftOf(null), type: 'webhook', url: ' http://x ', headers: [['', '']] })).toEqual({
      type: 'webhook',
      url: 'http://x',
    });
  });

  it('keeps what was typed when the type is switched back and forth', () => {
    const d = { ...draftOf(null), url: 'https://a.io', to: 'ops@a.io' };
    expect(toChannel({ ...d, type: 'email' })).toMatchObject({ to: ['ops@a.io'] });
    expect(toChannel({ ...d, type: 'slack' })).toEqual({ type: 'slack', url: 'https://a.io' });
  });

  it('names the field of each mistake, as the server would', () => {
    expect(draftIssues({ ...draftOf(null), type: 'webhook' })).toEqual({ url: 'is required' });
    expect(draftIssues({ ...draftOf(null), type: 'slack', url: 'ftp://x' })).toEqual({
      url: 'must start with http:// or https://',
    });
    expect(draftIssues({ ...draftOf(null), type: 'webhook', url: 'http://x', headers: [['', 'v']] })).toEqual(
      {
        headers: 'every header with a value needs a name',
      },
    );
    expect(
      draftIssues({ ...draftOf(null), type: 'email', port: '70000', password: 'p', credential: 'c' }),
    ).toEqual({
      to: 'give at least one address',
      host: 'is required',
      port: 'must be a whole number from 1 to 65535',
      password: 'give a password or a credential, not both',
    });
    expect(draftIssues({ ...draftOf(null), type: 'email', to: 'ops@x.io', host: 'smtp' })).toEqual({});
  });
});
