// Calling the C validator from C# through P/Invoke: liblicense_validator.so (Linux),
// license_validator.dll (Windows) or liblicense_validator.dylib (macOS) beside the program.
//
//     mcs -out:example.exe LicenseValidator.cs && mono example.exe keyring.json KEY EMAIL PRODUCT [NOW_UNIX]
//
// Strings cross as UTF-8 byte arrays with their lengths (license_validate_n), so any address,
// NUL included, reaches the validator exactly as typed.
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

public static class LicenseValidator
{
    const string Lib = "license_validator";

    [StructLayout(LayoutKind.Sequential)]
    public struct LicenseInfo
    {
        public uint KeyId, Product;
        public ulong Serial;
        public uint Issued, Expires, UpdatesUntil; // days since 2000-01-01; 0 = none
        public uint Seats, Edition, Flags;
    }

    [DllImport(Lib)] static extern int license_keyring_parse(byte[] json, UIntPtr len, out IntPtr keyring);
    [DllImport(Lib)] static extern void license_keyring_free(IntPtr keyring);
    [DllImport(Lib)] static extern int license_validate_n(byte[] key, UIntPtr keyLen, byte[] email, UIntPtr emailLen,
        long product, IntPtr keyring, long nowUnix, int buildDay, IntPtr revocations, out LicenseInfo info);
    [DllImport(Lib)] static extern IntPtr license_reason_name(int reason);
    [DllImport(Lib)] static extern IntPtr license_doc_status_message(int status);

    static readonly DateTime Epoch = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static string DayText(uint day) => day == 0 ? "none" : Epoch.AddDays(day).ToString("yyyy-MM-dd");

    public static int Main(string[] args)
    {
        if (args.Length != 4 && args.Length != 5)
        {
            Console.Error.WriteLine("usage: example KEYRING_JSON KEY EMAIL PRODUCT [NOW_UNIX]");
            return 2;
        }
        byte[] json = File.ReadAllBytes(args[0]);
        int status = license_keyring_parse(json, (UIntPtr)json.Length, out IntPtr keyring);
        if (status != 0)
        {
            Console.Error.WriteLine("keyring: " + Marshal.PtrToStringAnsi(license_doc_status_message(status)));
            return 2;
        }
        try
        {
            byte[] key = Encoding.UTF8.GetBytes(args[1]), email = Encoding.UTF8.GetBytes(args[2]);
            long now = args.Length == 5 ? long.Parse(args[4]) : DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            int reason = license_validate_n(key, (UIntPtr)key.Length, email, (UIntPtr)email.Length,
                long.Parse(args[3]), keyring, now, 0, IntPtr.Zero, out LicenseInfo info);
            if (reason != 0)
            {
                Console.WriteLine("not valid: " + Marshal.PtrToStringAnsi(license_reason_name(reason)));
                return 1;
            }
            Console.WriteLine($"valid: product {info.Product}, serial {info.Serial:X12}, {info.Seats} seat(s), " +
                              $"issued {DayText(info.Issued)}, expires {DayText(info.Expires)}");
            return 0;
        }
        finally
        {
            license_keyring_free(keyring);
        }
    }
}
