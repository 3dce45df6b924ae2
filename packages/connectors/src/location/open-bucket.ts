import type { S3Options } from './options.ts';
import type { S3Bucket } from './s3-bucket.ts';

/**
 * The bucket of `s3://bucket/prefix` and the prefix (without a trailing slash), not yet checked
 * (see S3Bucket.check). The SDK is imported here, when first used: importing the package must not
 * load it for a run that never touches S3.
 */
export async function openS3Bucket(
  url: string,
  options: S3Options | undefined,
  where: string,
): Promise<{ bucket: S3Bucket; prefix: string }> {
  const [{ parseS3Url }, { s3Bucket }] = await Promise.all([import('./s3.ts'), import('./s3-bucket.ts')]);
  const { bucket, key } = parseS3Url(url, where);
  return { bucket: s3Bucket(bucket, options, where), prefix: key.replace(/\/+$/, '') };
}
